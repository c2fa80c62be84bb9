"""DataFrames in a model file as JSON, column by column, with their dtypes.

Used for the leaderboard, the cached feature importances and, when the user keeps them,
the training sample and the out-of-fold predictions. numpy columns keep their dtype
(datetimes as integer nanoseconds), categoricals their categories and codes, pandas'
extension dtypes (nullable integers, strings) their dtype name. In object columns a
value that is not a plain value (a ``Decimal``, say) is stored as its text.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from automl.serializer import decode_plain, encode_plain


def _plain_objects(values: np.ndarray) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        if v is None or v is pd.NA or v is pd.NaT:
            out[i] = None
        elif isinstance(v, (str, bool, int, float, np.generic)):
            out[i] = v
        else:
            out[i] = str(v)
    return out


def _column(s: pd.Series) -> dict:
    dtype = s.dtype
    if isinstance(dtype, pd.CategoricalDtype):
        return {"dtype": "category", "ordered": bool(dtype.ordered),
                "categories": encode_plain(_plain_objects(np.asarray(dtype.categories, dtype=object))),
                "codes": encode_plain(s.cat.codes.to_numpy())}
    if isinstance(dtype, np.dtype) and dtype.kind in "Mm":
        return {"dtype": dtype.str, "ns": encode_plain(s.to_numpy().view("i8"))}
    if isinstance(dtype, np.dtype) and dtype.kind in "biuf":
        return {"dtype": dtype.str, "values": encode_plain(s.to_numpy())}
    values = _plain_objects(s.to_numpy(dtype=object))
    return {"dtype": "object" if dtype == object else str(dtype), "values": encode_plain(values)}


def _series(data: dict, name) -> pd.Series:
    dtype = data["dtype"]
    if dtype == "category":
        categories = decode_plain(data["categories"])
        return pd.Series(pd.Categorical.from_codes(decode_plain(data["codes"]), categories=categories,
                                                   ordered=data["ordered"]), name=name)
    if "ns" in data:
        return pd.Series(decode_plain(data["ns"]).view(np.dtype(dtype)), name=name)
    values = decode_plain(data["values"])
    if dtype == "object" or isinstance(values, np.ndarray) and values.dtype.kind in "biuf":
        return pd.Series(values, name=name, dtype=values.dtype)
    values = [pd.NA if v is None or isinstance(v, float) and math.isnan(v) else v for v in values]
    return pd.Series(pd.array(values, dtype=dtype), name=name)


def _index(index: pd.Index) -> dict:
    if isinstance(index, pd.RangeIndex):
        return {"dtype": "range", "range": [index.start, index.stop, index.step]}
    return _column(index.to_series())


def frame_to_json(frame: pd.DataFrame) -> dict:
    """``frame`` (its columns, index, index name and ``attrs``) as JSON data."""
    return {
        "columns": [encode_plain(c) for c in frame.columns],
        "data": [_column(frame.iloc[:, i]) for i in range(frame.shape[1])],
        "index": _index(frame.index),
        "index_name": encode_plain(frame.index.name),
        "attrs": encode_plain(dict(frame.attrs)),
    }


def frame_from_json(data: dict) -> pd.DataFrame:
    columns = [decode_plain(c) for c in data["columns"]]
    name, where = decode_plain(data["index_name"]), data["index"]
    index = pd.RangeIndex(*where["range"], name=name) if where["dtype"] == "range" else pd.Index(
        _series(where, None), name=name)
    series = [_series(d, c).set_axis(index) for c, d in zip(columns, data["data"])]
    frame = pd.concat(series, axis=1) if series else pd.DataFrame(index=index)
    frame.columns = columns  # keeps their types (int, str)
    frame.attrs.update(decode_plain(data["attrs"]))
    return frame
