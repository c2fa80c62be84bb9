"""The container: one zip file holding ``manifest.json`` and the members it lists.

The manifest names the format (``MAGIC``, ``FORMAT``) and gives the SHA-256 of every
other member; reading refuses a file that is not a zip with that manifest, a truncated
zip, a member missing, added or changed, and a newer format, each with one line that
says what to do. Nothing is unpickled: a file of the old pickle format (format 2 and
before) is recognised by its first bytes and refused. Writing is atomic (a crash never
leaves half a file).
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import zipfile
from pathlib import Path

from automl.exceptions import ModelFileError

MAGIC = "automl-model"
#: 3: a zip of JSON, skops and native model files (no pickle); 1-2 were joblib pickles.
FORMAT = 3
MANIFEST = "manifest.json"
#: A model file's members may not add up to more than this many bytes, uncompressed.
MAX_BYTES = 32 * 2**30
_LIBS = ("automl", "sklearn", "pandas", "numpy", "optuna", "skops", "lightgbm", "xgboost", "torch")
#: First bytes of a pickle (protocol 2+) and of joblib's compressed pickles (zlib, gzip, bz2, xz, lzma).
_PICKLE_HEADS = (b"\x80", b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda", b"\x1f\x8b", b"BZh", b"\xfd7zXZ",
                 b"\x5d\x00\x00")
_ZIP_HEAD = b"PK\x03\x04"


def library_versions() -> dict[str, str]:
    """Python's and the libraries' versions (those imported, and automl's core ones)."""
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


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(path, manifest: dict, members: dict[str, bytes]) -> Path:
    """Write ``manifest`` (with ``magic``, ``format`` and the members' checksums added) and
    ``members`` to the zip file ``path``, atomically."""
    path = Path(path)
    head = {"magic": MAGIC, "format": FORMAT}
    full = {**head, **manifest, "members": {name: sha256(data) for name, data in members.items()}}
    fd, tmp = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
            zf.writestr(MANIFEST, json.dumps(full, indent=1, allow_nan=False, ensure_ascii=False))
            for name, data in members.items():
                zf.writestr(name, data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
    return path


def read(path) -> tuple[dict, dict[str, bytes]]:
    """The manifest and the members of the model file ``path``, checked (see the module docstring)."""
    path = Path(path)
    where = repr(str(path))
    if not path.is_file():
        raise ModelFileError(f"No model file at {where}.")
    with open(path, "rb") as f:
        head = f.read(8)
    if not head.startswith(_ZIP_HEAD):
        if head.startswith(_PICKLE_HEADS):
            raise ModelFileError(
                f"{where} is a model file of an older automl (a pickle, which can run code when it is loaded), so it "
                "is not loaded; fit the model again with this automl (automl fit DATA --target COLUMN) and use the "
                "new file.")
        raise ModelFileError(f"{where} is not an automl model file (not a zip archive).")
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = _manifest(zf, where)
            return manifest, _members(zf, manifest, where)
    except zipfile.BadZipFile as exc:
        raise ModelFileError(f"{where} is truncated or damaged ({exc}); save the model again.") from None


def _manifest(zf: zipfile.ZipFile, where: str) -> dict:
    try:
        manifest = json.loads(zf.read(MANIFEST))
    except KeyError:
        raise ModelFileError(f"{where} is not an automl model file (it has no {MANIFEST}).") from None
    except ValueError as exc:
        raise ModelFileError(f"{where} is damaged: its {MANIFEST} is not JSON ({exc}).") from None
    if not isinstance(manifest, dict) or manifest.get("magic") != MAGIC:
        raise ModelFileError(f"{where} is not an automl model file (its {MANIFEST} is not automl's).")
    version = manifest.get("format")
    if not isinstance(version, int):
        raise ModelFileError(f"{where} is damaged: its {MANIFEST} has no format number.")
    if version > FORMAT:
        raise ModelFileError(f"{where} was written by a newer automl (model file format {version}, this automl "
                             f"reads {FORMAT}); upgrade automl (pip install -U automl).")
    if version < FORMAT:
        raise ModelFileError(f"{where} was written by an older automl (model file format {version}, this automl "
                             f"reads {FORMAT}); fit the model again with this automl.")
    if not isinstance(manifest.get("members"), dict):
        raise ModelFileError(f"{where} is damaged: its {MANIFEST} lists no members.")
    return manifest


def _members(zf: zipfile.ZipFile, manifest: dict, where: str) -> dict[str, bytes]:
    listed = manifest["members"]
    present = {info.filename: info for info in zf.infolist() if info.filename != MANIFEST}
    extra = sorted(set(present) - set(listed))
    if extra:
        raise ModelFileError(f"{where} has been tampered with: it holds {extra[0]!r}, which its manifest does not "
                             "list.")
    missing = sorted(set(listed) - set(present))
    if missing:
        raise ModelFileError(f"{where} is truncated or damaged: member {missing[0]!r} is missing.")
    if sum(info.file_size for info in present.values()) > MAX_BYTES:
        raise ModelFileError(f"{where} is not a plausible model file: its members add up to more than "
                             f"{MAX_BYTES // 2**30} GiB.")
    members = {}
    for name, digest in listed.items():
        data = zf.read(name)
        if sha256(data) != digest:
            raise ModelFileError(f"{where} has been tampered with or damaged: the checksum of {name!r} does not "
                                 "match its manifest.")
        members[name] = data
    return members
