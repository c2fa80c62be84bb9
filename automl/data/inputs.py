"""Input checks for ``fit`` and ``predict``: clear errors, and the caller's data untouched."""

from __future__ import annotations

import difflib
import logging

import numpy as np
import pandas as pd

from automl.exceptions import DataError

log = logging.getLogger(__name__)


def as_frame(X, feature_names=None) -> pd.DataFrame:
    """A DataFrame view of ``X`` (arrays get ``x0, x1, ...`` or the fitted names)."""
    if isinstance(X, pd.DataFrame):
        return X
    if isinstance(X, pd.Series):
        return X.to_frame()
    arr = np.asarray(X)
    if arr.ndim != 2:
        raise DataError(f"X must be a DataFrame or a 2-D array, got an array with {arr.ndim} dimension(s).")
    names = list(feature_names) if feature_names is not None else [f"x{i}" for i in range(arr.shape[1])]
    if len(names) != arr.shape[1]:
        raise DataError(f"X has {arr.shape[1]} columns; the model was fitted on {len(names)}: {names}.")
    return pd.DataFrame(arr, columns=names)


def closest_names(name: str, candidates: list[str], n: int = 3) -> list[str]:
    """Candidates that look like ``name``: same name in another case first, then similar ones."""
    lowered = {c.lower(): c for c in candidates}
    same_case = [c for c in candidates if c.lower() == name.lower()]
    similar = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)]
    return list(dict.fromkeys(same_case + similar))[:n]


def split_xy(X, y) -> tuple[pd.DataFrame, pd.Series, str]:
    """Features and target from ``fit(X, y)``; ``y`` is a column name of ``X`` or values.

    Returns copies; rows whose target is missing are dropped (and logged).
    """
    frame = as_frame(X)
    if frame.empty or frame.shape[1] == 0:
        raise DataError("X is empty: it needs at least one row and one column.")
    if frame.columns.duplicated().any():
        dup = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise DataError(f"X has duplicated column names {dup}; rename them so each column is unique.")
    if isinstance(y, str):
        if y not in frame.columns:
            close = closest_names(y, [str(c) for c in frame.columns])
            hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
            raise DataError(f"Target column {y!r} is not in the data.{hint} Columns: {list(map(str, frame.columns))}.")
        target = frame[y].copy()
        features = frame.drop(columns=[y])
        name = y
    elif y is None:
        raise DataError("fit needs a target: a column name of X, or the target values as y.")
    else:
        target = y.copy() if isinstance(y, pd.Series) else pd.Series(np.asarray(y).ravel())
        if len(target) != len(frame):
            raise DataError(f"y has {len(target)} values but X has {len(frame)} rows.")
        target.index = frame.index
        name = str(target.name) if target.name is not None else "target"
        target.name = name
        features = frame.copy()
        if name in features.columns:
            features = features.drop(columns=[name])
    if features.shape[1] == 0:
        raise DataError("X has no feature columns besides the target.")
    missing = target.isna()
    if missing.all():
        raise DataError(f"Target {name!r} has no values: every row is missing.")
    if missing.any():
        log.warning("Dropping %d row(s) whose target %r is missing.", int(missing.sum()), name)
        features, target = features.loc[~missing.to_numpy()], target.loc[~missing.to_numpy()]
    return features.reset_index(drop=True), target.reset_index(drop=True), name


def select_features(X, feature_names: list[str]) -> pd.DataFrame:
    """The fitted feature columns of ``X``, in fitted order.

    Extra columns (the target among them) are ignored; a missing one is an error naming it.
    """
    frame = as_frame(X, feature_names)
    missing = [c for c in feature_names if c not in frame.columns]
    if missing:
        raise DataError(
            f"X lacks column(s) {missing} that the model was fitted on; "
            f"it needs all of: {list(feature_names)}."
        )
    return frame.loc[:, list(feature_names)]
