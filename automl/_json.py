"""``jsonable``: any value the reports, the study and the contract store, as plain JSON types."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd


def jsonable(obj: Any, strict: bool = False) -> Any:
    """``obj`` with numpy/pandas scalars, paths and enums turned into JSON types; NaN → None.

    Any other object becomes its ``str()``, or with ``strict`` (a model's parameters, which
    the study stores and the refit reads back) raises ``TypeError``.
    """
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v, strict) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set, frozenset, np.ndarray, pd.Index)):
        return [jsonable(v, strict) for v in obj]
    if isinstance(obj, pd.Series):
        return {str(k): jsonable(v, strict) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [jsonable(r, strict) for r in obj.to_dict(orient="records")]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if obj is None or isinstance(obj, str):
        return obj
    if hasattr(obj, "value") and isinstance(getattr(obj, "value"), str):  # enums (Task, Role)
        return obj.value
    if obj is pd.NA or obj is pd.NaT:
        return None
    if strict:
        raise TypeError(f"{type(obj).__name__} value {obj!r} is not a plain value (str, int, float, bool, None)")
    return str(obj)
