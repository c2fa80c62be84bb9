"""Reading a table from a file or stdin for the command line.

* CSV, with the delimiter sniffed (``,`` ``;`` tab ``|``), UTF-8 with or without a BOM,
  compressed or not: ``.gz``, ``.bz2``, ``.zip`` (one member), ``.xz`` by extension; a
  gzip/bz2/xz stream on stdin is recognised by its magic bytes.
* Parquet (``.parquet``, ``.pq``) through pandas, which needs pyarrow (or fastparquet).
* ``-`` reads CSV from stdin.

Every problem is a :class:`~automl.exceptions.DataFileError`, a ``DataError`` (or an ``OSError`` for a file
that cannot be opened) with a one-line message that names the file.
"""

from __future__ import annotations

import bz2
import csv
import gzip
import io
import lzma
import sys
import zipfile
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from automl.exceptions import DataFileError

STDIN = "-"
PARQUET_SUFFIXES = (".parquet", ".pq")
COMPRESSION_SUFFIXES = {".gz": "gzip", ".gzip": "gzip", ".bz2": "bz2", ".zip": "zip", ".xz": "xz"}
DELIMITERS = ",;\t|"
_SNIFF_BYTES = 64 * 1024
_MAGIC = {b"\x1f\x8b": "gzip", b"BZh": "bz2", b"\xfd7zXZ\x00": "xz", b"PK\x03\x04": "zip"}


def display_name(source: str | Path) -> str:
    return "<stdin>" if str(source) == STDIN else str(source)


def base_stem(source: str | Path) -> str:
    """``data`` for ``dir/data.csv.gz``, ``data.parquet`` ...; ``stdin`` for ``-``."""
    if str(source) == STDIN:
        return "stdin"
    path = Path(source)
    name = path.name
    for _ in range(2):  # data.csv.gz -> data.csv -> data
        suffix = Path(name).suffix.lower()
        if suffix in COMPRESSION_SUFFIXES or suffix in (".csv", ".tsv", ".txt", *PARQUET_SUFFIXES):
            name = name[: -len(suffix)]
    return name or path.name


def _compression(path: Path) -> str | None:
    return COMPRESSION_SUFFIXES.get(path.suffix.lower())


def _is_parquet(path: Path) -> bool:
    suffixes = [s.lower() for s in path.suffixes]
    return bool(suffixes) and (suffixes[-1] in PARQUET_SUFFIXES or (len(suffixes) > 1 and suffixes[-2] in PARQUET_SUFFIXES))


def _decompress(raw: bytes, kind: str | None, name: str) -> bytes:
    try:
        if kind == "gzip":
            return gzip.decompress(raw)
        if kind == "bz2":
            return bz2.decompress(raw)
        if kind == "xz":
            return lzma.decompress(raw)
        if kind == "zip":
            with zipfile.ZipFile(io.BytesIO(raw)) as zf:
                members = [m for m in zf.namelist() if not m.endswith("/")]
                if len(members) != 1:
                    raise DataFileError(f"{name}: a zip file must hold exactly one table, it holds {len(members)} files.")
                return zf.read(members[0])
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{name}: cannot decompress ({kind}): {exc}.") from None
    return raw


def _open_sample(path: Path, kind: str | None) -> bytes:
    """The first bytes of the (decompressed) file, for sniffing."""
    if kind == "zip":
        return _decompress(path.read_bytes(), "zip", str(path))[:_SNIFF_BYTES]
    opener = {"gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}.get(kind or "", open)
    try:
        with opener(path, "rb") as fh:
            return fh.read(_SNIFF_BYTES)
    except (PermissionError, FileNotFoundError, IsADirectoryError):
        raise
    except (OSError, EOFError, lzma.LZMAError) as exc:
        if kind is None:
            raise
        raise DataFileError(f"{path}: cannot decompress ({kind}): {exc}.") from None


def _decode(sample: bytes, name: str) -> str:
    if sample.startswith(b"\xef\xbb\xbf"):
        sample = sample[3:]
    try:
        return sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start >= len(sample) - 3:  # a character cut by the sample's end
            return sample[: exc.start].decode("utf-8")
        raise _not_utf8(name, exc) from None


def _not_utf8(name: str, exc: UnicodeDecodeError) -> DataFileError:
    bad = exc.object[exc.start : exc.start + 1].hex()
    return DataFileError(
        f"{name} is not UTF-8 text (byte 0x{bad} at offset {exc.start}); "
        f"convert it first, e.g. iconv -f latin1 -t utf-8 {name} > data-utf8.csv."
    )


def sniff_delimiter(text: str) -> str:
    """The delimiter of a CSV sample: ``,`` unless ``;``, tab or ``|`` fits better."""
    lines = [ln for ln in text.splitlines() if ln.strip()][:50]
    if not lines:
        return ","
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut by the sample's end
    sample = "\n".join(lines) + "\n"
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter
    except csv.Error:
        pass
    # the sniffer gives up on ragged quoting: take the delimiter that is most common in the header
    counts = {d: lines[0].count(d) for d in DELIMITERS}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def _read_csv(handle, sep: str, name: str, **kwargs) -> pd.DataFrame:
    try:
        return pd.read_csv(handle, sep=sep, low_memory=False, **kwargs)
    except pd.errors.EmptyDataError:
        raise DataFileError(f"{name} is empty: no header row.") from None
    except pd.errors.ParserError as exc:
        raise DataFileError(f"{name}: cannot parse as CSV with delimiter {sep!r}: {str(exc).strip()}") from None
    except UnicodeDecodeError as exc:
        raise _not_utf8(name, exc) from None


def _read_stdin(stream: BinaryIO | None) -> pd.DataFrame:
    stream = stream if stream is not None else sys.stdin.buffer
    raw = stream.read()
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    kind = next((k for magic, k in _MAGIC.items() if raw.startswith(magic)), None)
    raw = _decompress(raw, kind, "<stdin>")
    if raw.startswith(b"PAR1"):
        return _read_parquet(io.BytesIO(raw), "<stdin>")
    text = _decode(raw, "<stdin>")
    if not text.strip():
        raise DataFileError("<stdin> is empty: no header row.")
    return _read_csv(io.StringIO(text), sniff_delimiter(text[:_SNIFF_BYTES]), "<stdin>")


def _read_parquet(source, name: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(source)
    except ImportError:
        raise DataFileError(
            f"reading Parquet ({name}) needs pyarrow: pip install pyarrow (or give a CSV file)."
        ) from None
    except (OSError, ValueError) as exc:
        raise DataFileError(f"{name}: cannot read as Parquet: {exc}") from None


def read_table(source: str | Path, stdin: BinaryIO | None = None) -> pd.DataFrame:
    """Read a CSV or Parquet file (or CSV from stdin for ``-``) into a DataFrame."""
    if str(source) == STDIN:
        return _read_stdin(stdin)
    path = Path(source)
    if not path.exists():
        raise DataFileError(f"No such file: {str(path)!r}.")
    if path.is_dir():
        raise DataFileError(f"{str(path)!r} is a directory, not a data file.")
    if _is_parquet(path):
        return _read_parquet(path, str(path))
    kind = _compression(path)
    text = _decode(_open_sample(path, kind), str(path))
    if not text.strip():
        raise DataFileError(f"{path} is empty: no header row.")
    sep = sniff_delimiter(text)
    return _read_csv_file(path, sep, kind)


def _read_csv_file(path: Path, sep: str, kind: str | None) -> pd.DataFrame:
    try:
        return _read_csv(path, sep, str(path), compression=kind, encoding="utf-8-sig")
    except (EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise DataFileError(f"{path}: cannot decompress ({kind}): {exc}.") from None


def write_table(frame: pd.DataFrame, dest: str | Path | None, stdout=None) -> None:
    """Write ``frame`` as CSV to ``dest`` (compressed by extension; Parquet for ``.parquet``)
    or to stdout when ``dest`` is None or ``-``."""
    if dest is None or str(dest) == STDIN:
        out = stdout if stdout is not None else sys.stdout
        frame.to_csv(out, index=False, lineterminator="\n")
        out.flush()
        return
    path = Path(dest)
    if _is_parquet(path):
        try:
            frame.to_parquet(path, index=False)
        except ImportError:
            raise DataFileError(f"writing Parquet ({path}) needs pyarrow: pip install pyarrow (or write a .csv).") from None
        return
    frame.to_csv(path, index=False, compression="infer")
