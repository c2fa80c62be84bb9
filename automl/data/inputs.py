"""Input checks for ``fit`` and ``predict``: clear errors, and the caller's data untouched.

scikit-learn's conventions: ``X`` is 2-D (a DataFrame, an array or a list of rows). A
frame's columns are matched by name; an array's, and a frame's whose names the model was
not fitted with, by position. A bad input raises the error scikit-learn's estimators
raise (``ValueError``; ``TypeError`` for a value of the wrong type), in one line that
names the column and what was expected.
"""

from __future__ import annotations

import datetime
import decimal
import difflib
import logging
import numbers
import warnings

import numpy as np
import pandas as pd
from scipy import sparse
from sklearn.exceptions import DataConversionWarning

from automl.exceptions import DataError, DataTypeError

log = logging.getLogger(__name__)

#: ``fit`` needs at least this many rows with a target.
MIN_ROWS = 2
#: Types a cell of an object column may hold (besides missing values).
_SCALARS = (str, bytes, numbers.Number, np.generic, datetime.date, datetime.time, datetime.timedelta, decimal.Decimal)


def default_names(n: int) -> list[str]:
    """The column names of an array: ``x0, x1, ...``."""
    return [f"x{i}" for i in range(n)]


def column_name(label) -> str:
    """The model's name of a column label: ``str`` of it (``1`` → ``"1"``, ``None`` →
    ``"None"``), a MultiIndex column's levels joined by ``_`` (``("g", "a")`` → ``"g_a"``)."""
    if isinstance(label, tuple):
        return "_".join(str(part) for part in label if not (isinstance(part, str) and part == ""))
    return label if isinstance(label, str) else str(label)


def has_string_names(X) -> bool:
    """``X`` is a DataFrame whose column names are all strings (scikit-learn sets
    ``feature_names_in_`` only then)."""
    return isinstance(X, pd.DataFrame) and X.shape[1] > 0 and all(isinstance(c, str) for c in X.columns)


def as_frame(X, columns=None) -> pd.DataFrame:
    """A DataFrame view of ``X`` (arrays get ``columns``, by default ``x0, x1, ...``)."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame()
    if sparse.issparse(X):
        raise DataError(f"X is a sparse {type(X).__name__}; automl needs dense data: pass X.toarray() or a DataFrame.")
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise DataError(
            f"X must be 2-D (rows and columns), got {arr.ndim}-D data of shape {arr.shape}. Reshape your data: "
            "X.reshape(1, -1) if it is one row, X.reshape(-1, 1) if it is one column."
        )
    if np.iscomplexobj(arr):
        raise DataError("Complex data not supported: X holds complex numbers; pass their real and imaginary parts as columns.")
    frame = pd.DataFrame(arr, columns=list(columns) if columns is not None else default_names(arr.shape[1]))
    # An object array (numbers as Python objects, or mixed columns): each column gets the
    # dtype of its values, so that numbers are numbers, as scikit-learn's check_array does.
    return frame.infer_objects() if arr.dtype == object else frame


def raw_columns(frame: pd.DataFrame, names) -> dict:
    """The columns ``names`` of ``frame`` as 1-D arrays (numpy or pandas extension arrays),
    by name. Column by column, pandas costs ~30 us a column; its column iterator ~2 us."""
    iterate = getattr(frame, "_iter_column_arrays", None)
    if iterate is not None and frame.columns.is_unique:
        cols = dict(zip(frame.columns, iterate()))
        return {c: cols[c] for c in names}
    return {c: frame[c].array for c in names}


def check_values(frame: pd.DataFrame, what: str = "X") -> None:
    """Refuse the values no model can use, naming the column: infinities (NaN is fine:
    missing values are imputed), complex numbers and objects such as dicts or lists."""
    floats = []
    for name, dtype in frame.dtypes.items():
        if dtype.kind == "f":
            floats.append(name)
        elif dtype.kind == "c":
            raise DataError(f"Complex data not supported: {what} column {name!r} holds complex numbers.")
        elif dtype == object:
            _check_objects(frame[name], name, what)
    if not floats:
        return
    # column by column: a sub-frame's to_numpy costs ~0.2 ms, most of a one-row prediction's checks
    arrays = raw_columns(frame, floats) if frame.columns.is_unique else {
        i: frame.iloc[:, i].array for i, d in enumerate(frame.dtypes) if d.kind == "f"}
    for name, values in zip(floats, arrays.values()):
        infinite = np.isinf(np.asarray(values, dtype=float) if isinstance(values, np.ndarray)
                            else values.to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            rows = np.flatnonzero(infinite)
            raise DataError(
                f"{what} column {name!r} holds infinite values (inf) in {len(rows)} row(s), the first at "
                f"position {rows[0]}; replace them with NaN (a missing value) or a finite number."
            )


def _check_objects(column: pd.Series, name, what: str) -> None:
    kind = pd.api.types.infer_dtype(column, skipna=True)
    if kind == "complex":
        raise DataError(f"Complex data not supported: {what} column {name!r} holds complex numbers.")
    if kind not in ("mixed", "mixed-integer", "unknown-array"):
        return
    for position, value in enumerate(column.to_numpy()):
        if value is None or value is pd.NA or value is pd.NaT or isinstance(value, _SCALARS):
            continue
        raise DataTypeError(
            f"{what} column {name!r} holds a {type(value).__name__} at position {position}; "
            "a value's argument must be a string or a number (or missing)."
        )


def check_numbers(frame: pd.DataFrame, columns: list[str], what: str = "X") -> None:
    """Columns that were numbers at fit must hold numbers: a value that is not one (and
    not missing), e.g. ``"abc"`` or ``"n/a"``, is refused naming the column, the value and
    its position; numbers written as text (``"1.5"``) are fine."""
    for name in columns:
        if name not in frame.columns or frame[name].dtype.kind in "biufcm":  # numbers, booleans, durations
            continue
        column = frame[name]
        present = column.notna().to_numpy()
        bad = present & pd.to_numeric(column.astype(object), errors="coerce").isna().to_numpy()
        if bad.any():
            position = int(np.flatnonzero(bad)[0])
            raise DataError(
                f"{what} column {name!r} held numbers at fit but holds {column.iloc[position]!r} at position {position} "
                f"({int(bad.sum())} such value(s)); pass numbers, or leave the cell empty (NaN) for a missing value."
            )


def closest_names(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """Candidates that look like ``name``: same name in another case first, then similar ones."""
    lowered = {c.lower(): c for c in candidates}
    same_case = [c for c in candidates if c.lower() == name.lower()]
    similar = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)]
    return list(dict.fromkeys(same_case + similar))[:n]


def target_values(frame: pd.DataFrame, y) -> tuple[pd.Series, str]:
    """The target (index aligned with ``frame``) and its name: column ``y`` of ``frame``,
    or the values ``y`` (a 1-D sequence; a column vector is accepted with scikit-learn's
    ``DataConversionWarning``)."""
    if _is_label(frame, y):
        column = frame.iloc[:, _position(frame, y)]
        return column.rename(column_name(y)).copy(), column_name(y)
    if isinstance(y, str):
        if y not in frame.columns:
            close = closest_names(y, [str(c) for c in frame.columns])
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise DataError(f"Target column {y!r} is not in the data.{hint} Columns: {list(map(str, frame.columns))}.")
        return frame[y].copy(), y
    if y is None:
        raise DataError("AutoML requires y to be passed, but the target y is None: pass a column name of X or "
                        "the target values.")
    if not isinstance(y, (pd.Series, pd.DataFrame)):
        y = np.asarray(y)
    if y.ndim == 2:
        if y.shape[1] != 1:
            raise DataError(f"y has shape {y.shape}: automl predicts one target; pass a single column of values.")
        warnings.warn(
            "A column-vector y was passed when a 1d array was expected. Please change the shape of y to "
            "(n_samples, ), for example using ravel().", DataConversionWarning, stacklevel=4,
        )
        y = y.iloc[:, 0] if isinstance(y, pd.DataFrame) else y.ravel()
    target = y.copy() if isinstance(y, pd.Series) else pd.Series(y.ravel())
    if len(target) != len(frame):
        raise DataError(f"y has {len(target)} values but X has {len(frame)} rows.")
    if np.iscomplexobj(target.to_numpy()):
        raise DataError("Complex data not supported: the target y holds complex numbers.")
    target.index = frame.index
    name = str(target.name) if target.name is not None else "target"
    target.name = name
    return target, name


def _is_label(frame: pd.DataFrame, y) -> bool:
    """``y`` names a column of ``frame`` (a string, or another label such as ``0`` or a
    MultiIndex tuple), rather than being the target's values."""
    if isinstance(y, (str, tuple, numbers.Number, np.generic)):  # never np.ndim: y may refuse array functions
        try:
            return y in frame.columns
        except TypeError:  # unhashable
            return False
    return False


def _position(frame: pd.DataFrame, y) -> int:
    found = frame.columns.get_loc(y)
    if not isinstance(found, (int, np.integer)):
        raise DataError(f"The target {y!r} names several columns of X; rename them so each column is unique.")
    return int(found)


def split_xy(X, y) -> tuple[pd.DataFrame, pd.Series, str]:
    """Features and target from ``fit(X, y)``; ``y`` is a column name of ``X`` or values.

    Returns copies, the features' columns named by :func:`column_name`; rows whose
    target is missing are dropped (and logged).
    """
    frame = as_frame(X)
    if frame.shape[1] == 0:
        raise DataError(f"X has 0 feature(s) (shape={frame.shape}) while a minimum of 1 is required.")
    if frame.shape[0] == 0:
        raise DataError(f"X has 0 sample(s) (shape={frame.shape}) while a minimum of {MIN_ROWS} is required.")
    labels = pd.Index([column_name(c) for c in frame.columns], dtype=object)
    if labels.duplicated().any():
        dup = sorted(set(labels[labels.duplicated()]))
        raise DataError(f"X has duplicated column names {dup} (as text); rename them so each column is unique.")
    target, name = target_values(frame, y)
    features = frame.set_axis(labels, axis=1)  # a new frame: X's own labels are left alone
    named = _is_label(frame, y) or getattr(y, "name", None) is not None
    if named and name in features.columns:  # the target's own column, not an unnamed y's default name
        features = features.drop(columns=[name])
    if features.shape[1] == 0:
        raise DataError("X has no feature columns besides the target.")
    missing = target.isna()
    if missing.all():
        raise DataError(f"Target {name!r} has no values: every row is missing.")
    if missing.any():
        log.warning("Dropping %d row(s) whose target %r is missing.", int(missing.sum()), name)
        features, target = features.loc[~missing.to_numpy()], target.loc[~missing.to_numpy()]
    if len(target) < MIN_ROWS:
        raise DataError(f"X has {len(target)} sample(s) with a target while a minimum of {MIN_ROWS} is required.")
    if pd.api.types.is_numeric_dtype(target.dtype) and not pd.api.types.is_bool_dtype(target.dtype):
        infinite = np.isinf(target.to_numpy(dtype=float, na_value=np.nan))
        if infinite.any():
            raise DataError(f"Target {name!r} holds infinite values (inf) in {int(infinite.sum())} row(s); "
                            "drop those rows or replace them with finite numbers.")
    check_values(features)
    return features.reset_index(drop=True), target.reset_index(drop=True), name


def select_features(X, columns: list[str], named: bool = True, owner: str = "AutoML") -> pd.DataFrame:
    """The fitted feature columns of ``X``, in fitted order, named ``columns``.

    A frame's columns are matched by name (``str`` of its labels, so integer labels match
    too): extra columns, the target among them, are ignored and a missing one is an error
    that names it. When the model was fitted without string column names (``named``
    False: an array, or a frame with other labels), an array and a frame whose names do
    not match are taken by position, with scikit-learn's warnings where names disagree.
    """
    n = len(columns)
    if isinstance(X, pd.DataFrame):
        names = [column_name(c) for c in X.columns]
        positions = {name: i for i, name in enumerate(names)}
        if len(positions) < len(names):
            counts = pd.Series(names).value_counts()
            twice = [c for c in columns if counts.get(c, 0) > 1]
            if twice:
                raise DataError(f"X has column {twice[0]!r} {int(counts[twice[0]])} times; keep one column of each "
                                "name (the model reads columns by name).")
        missing = [c for c in columns if c not in positions]
        if not missing and len(names) == n and list(X.columns) == list(columns):
            frame = X.copy(deep=False)  # the fitted columns in order (~0.1 ms less than iloc on one row)
        elif not missing:
            frame = X.iloc[:, [positions[c] for c in columns]]
            frame.columns = list(columns)
        elif not named and X.shape[1] == n:
            if has_string_names(X):
                warnings.warn(f"X has feature names, but {owner} was fitted without feature names", UserWarning,
                              stacklevel=3)
            frame = X.set_axis(list(columns), axis=1)
        elif named:
            raise DataError(
                f"X lacks column(s) {missing} that the model was fitted on; it needs all of: {list(columns)}."
            )
        else:
            raise DataError(f"X has {X.shape[1]} features, but {owner} is expecting {n} features as input "
                            "(it was fitted on an array: columns are taken by position).")
    else:
        frame = as_frame(X)
        if frame.shape[1] != n:
            raise DataError(f"X has {frame.shape[1]} features, but {owner} is expecting {n} features as input.")
        if named:
            warnings.warn(f"X does not have valid feature names, but {owner} was fitted with feature names",
                          UserWarning, stacklevel=3)
        frame.columns = list(columns)
    check_values(frame)
    return frame
