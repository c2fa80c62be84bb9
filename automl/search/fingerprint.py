"""The study's fingerprint: the training data, the target and the settings every process
of one search must share (its folds and preprocessing are derived from them).

The first process to use a study records it in the study's user attributes; every later
one (a resumed fit, a worker) compares its own and is refused, in one line that says
what differs, when they do not match.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import optuna
import pandas as pd

from automl.data.text import as_text

from automl.exceptions import DataError

ATTR = "automl_fingerprint"
#: Bumped when the way trials are evaluated changes: a study of another version is refused.
VERSION = 1


def _digest(*arrays: np.ndarray) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()[:16]


def fingerprint(X: pd.DataFrame, y: np.ndarray, settings: dict[str, Any]) -> dict[str, Any]:
    """``{"version", "rows", "columns", "data", "target", "settings"}``: hashes of the
    feature values (with the column names and dtypes) and of the encoded target."""
    columns = [f"{c}:{X[c].dtype}" for c in X.columns]
    try:
        values = pd.util.hash_pandas_object(X, index=False).to_numpy()
    except (TypeError, UnicodeDecodeError):  # cells pandas cannot hash (mixed types, bytes): hash their text
        text = pd.DataFrame({c: as_text(X[c]) for c in X.columns}, index=X.index)
        values = pd.util.hash_pandas_object(text, index=False).to_numpy()
    return {
        "version": VERSION,
        "rows": int(len(X)),
        "columns": _digest(np.array(columns, dtype=str)),
        "data": _digest(values),
        "target": _digest(np.asarray(y)),
        "settings": settings,
    }


def recorded(study: optuna.Study) -> dict[str, Any] | None:
    return study.user_attrs.get(ATTR)


def check(study: optuna.Study, mine: dict[str, Any]) -> None:
    """Record ``mine`` in a study that has none; else raise :class:`DataError` naming what differs."""
    theirs = recorded(study)
    if theirs is None:
        study.set_user_attr(ATTR, mine)
        return
    where = f"study {study.study_name!r}"
    if theirs.get("version") != mine["version"]:
        raise DataError(f"{where} was searched by another version of automl (fingerprint version "
                        f"{theirs.get('version')}, this one {mine['version']}); use a new study_name.")
    if theirs["rows"] != mine["rows"]:
        raise DataError(f"{where} was searched on {theirs['rows']} rows, this data has {mine['rows']}: join it "
                        "with the same data, or use a new study_name.")
    for key, what in (("columns", "the column names or types"), ("data", "the feature values"),
                      ("target", "the target values")):
        if theirs[key] != mine[key]:
            raise DataError(f"{where} was searched on other data ({what} differ); join it with the same data "
                            "and target, or use a new study_name.")
    ours, recorded_settings = mine["settings"], theirs["settings"]
    diff = [f"{k}={recorded_settings.get(k)!r} there, {ours.get(k)!r} here"
            for k in sorted(set(ours) | set(recorded_settings)) if ours.get(k) != recorded_settings.get(k)]
    if diff:
        raise DataError(f"{where} was searched with other settings ({'; '.join(diff)}); use the same "
                        "settings, or a new study_name.")
