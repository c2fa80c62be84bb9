"""Any column's values as Python strings: what profiling and the categorical encoders read.

A column may mix Python types (numbers, strings, booleans, bytes, dates) or hold missing
values of several kinds (None, NaN, ``pd.NA``, NaT); numpy's and pandas' ``astype(str)``
fail on bytes that are not ASCII/UTF-8 and turn missing values into ``"nan"``/``"<NA>"``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _text(value) -> str:
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", errors="replace")
    return str(value)


def as_text(s: pd.Series) -> np.ndarray:
    """The values of ``s`` as ``str`` in an object array, missing values as NaN (bytes
    decoded as UTF-8, undecodable bytes replaced)."""
    missing = s.isna().to_numpy()
    raw = s.to_numpy(dtype=object)
    if pd.api.types.infer_dtype(raw, skipna=True) == "string":
        text = raw.copy()
    else:
        text = np.array([_text(v) for v in raw], dtype=object)
    text[missing] = np.nan
    return text


def text_series(s: pd.Series) -> pd.Series:
    """:func:`as_text` as an object Series with ``s``'s index and name (for ``.str`` methods)."""
    return pd.Series(as_text(s), index=s.index, name=s.name, dtype=object)
