"""Validation splits: K-fold (stratified for classification), a holdout for large data."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl.exceptions import DataError
from automl.data.task import Task

#: ``cv="auto"``: 5 folds up to SMALL rows, 3 folds up to MEDIUM rows (LARGE with a
#: budget of LONG_BUDGET seconds or more, or none), a holdout above.
SMALL = 5_000
MEDIUM = 10_000
LARGE = 50_000
LONG_BUDGET = 600
HOLDOUT_FRACTION = 0.2

Splits = list[tuple[np.ndarray, np.ndarray]]


def auto_folds(n_rows: int, time_budget: float | None = None) -> int:
    """Number of folds for ``cv="auto"`` (1 means a holdout): fewer as the data grows,
    so that a short budget still sees several configurations at full fidelity."""
    if n_rows <= SMALL:
        return 5
    long_run = time_budget is None or time_budget >= LONG_BUDGET
    if n_rows <= (LARGE if long_run else MEDIUM):
        return 3
    return 1


def make_splits(y: np.ndarray, task: Task, cv: int | str, seed: int, time_budget: float | None = None) -> Splits:
    """The (train, validation) index pairs every trial is evaluated on.

    ``cv`` is ``"auto"``, a number of folds >= 2, or 1 for a single holdout.
    For classification the folds are stratified; the number of folds is lowered to
    the size of the smallest class when needed (at least 2 rows per class are required).
    """
    n = len(y)
    k = auto_folds(n, time_budget) if cv == "auto" else int(cv)
    if k < 1:
        raise DataError(f"cv={cv!r}: use 'auto', 1 (holdout) or a number of folds >= 2.")
    stratify = task.is_classification
    if stratify:
        labels, counts = np.unique(y, return_counts=True)
        smallest = int(counts.min())
        if smallest < 2:
            raise DataError(
                f"Class {labels[counts.argmin()]!r} of the target has a single row; at least 2 rows per "
                "class are needed to validate. Remove that row or merge the class with another."
            )
        k = min(k, smallest) if k > 1 else k
    idx = np.arange(n)
    if k == 1:
        train, val = train_test_split(
            idx, test_size=HOLDOUT_FRACTION, random_state=seed, stratify=y if stratify else None
        )
        return [(np.sort(train), np.sort(val))]
    splitter = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=seed)
    return [(tr, va) for tr, va in splitter.split(idx, y if stratify else None)]


def validation_rows(splits: Splits) -> np.ndarray:
    """Indices that receive an out-of-fold prediction (all rows for K-fold)."""
    return np.sort(np.concatenate([va for _, va in splits]))
