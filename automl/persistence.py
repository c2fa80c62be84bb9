"""Saving and loading a fitted AutoML object as one file, with the versions it was made with."""

from __future__ import annotations

import os
import platform
import tempfile
from pathlib import Path

import joblib

from automl.exceptions import AutoMLError

MAGIC = "automl-model"
#: 2: the fitted model keeps its resolved metric (plugin metrics need no lookup).
FORMAT = 2
_LIBS = ("automl", "sklearn", "pandas", "numpy", "optuna", "lightgbm", "xgboost", "torch")


def library_versions() -> dict[str, str]:
    import importlib
    import sys

    versions = {"python": platform.python_version()}
    for name in _LIBS:
        module = sys.modules.get(name)
        if module is None and name in ("automl", "sklearn", "pandas", "numpy", "optuna"):
            module = importlib.import_module(name)
        if module is not None:
            versions[name] = getattr(module, "__version__", "?")
    return versions


def save(obj, path) -> Path:
    """Write ``obj`` to ``path`` atomically (a crash never leaves half a file)."""
    path = Path(path)
    payload = {"magic": MAGIC, "format": FORMAT, "versions": library_versions(), "model": obj}
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    os.close(fd)
    try:
        joblib.dump(payload, tmp, compress=3)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def load_payload(path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise AutoMLError(f"No model file at {str(path)!r}.")
    try:
        payload = joblib.load(path)
    except Exception as exc:
        raise AutoMLError(f"{str(path)!r} is not an automl model file ({type(exc).__name__}: {exc}).") from None
    if not isinstance(payload, dict) or payload.get("magic") != MAGIC:
        raise AutoMLError(f"{str(path)!r} is not an automl model file.")
    if payload.get("format", 0) > FORMAT:
        raise AutoMLError(
            f"{str(path)!r} was written by a newer automl (file format {payload['format']}); upgrade automl."
        )
    if payload.get("format", 0) < FORMAT:
        raise AutoMLError(
            f"{str(path)!r} was written by an older automl (file format {payload.get('format')}, this one reads "
            f"{FORMAT}); fit the model again with this version."
        )
    return payload
