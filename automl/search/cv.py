"""Validation splits: K-fold (stratified for classification), repeated on small tables,
a holdout for large data."""

from __future__ import annotations

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from automl.exceptions import DataError
from automl.data.task import Task

#: ``cv="auto"``: 5 folds up to SMALL rows, 3 folds up to MEDIUM rows (LARGE with a budget of
#: LONG_BUDGET seconds or more, or none), a holdout above. Regression and binary tables reach
#: LONG_BUDGET at MID_BUDGET. At 300 s on california_housing (15,480 training rows) 3 folds
#: scored R² 0.8560 and 0.8559 against the holdout's 0.8557 and 0.8555 (seeds 0 and 1 on the
#: benchmark's split 0): every out-of-fold prediction, and the ensemble, rest on all the rows.
#: On letter (15,000 rows, 26 classes, where a trial costs several times more) they scored log
#: loss 0.0634 and 0.0591 against 0.0559 and 0.0561: too few trials (benchmarks/README.md).
SMALL = 5_000
MEDIUM = 10_000
LARGE = 50_000
LONG_BUDGET = 600
MID_BUDGET = 300
HOLDOUT_FRACTION = 0.2
#: ``cv_repeats="auto"``: the K folds drawn REPEATS times (each time reshuffled) on tables of
#: up to REPEAT_ROWS rows with a budget of REPEAT_BUDGET seconds or more (without a budget, the
#: cost of n_trials stays what it was: once). Every
#: out-of-fold prediction is then the mean of REPEATS models', a less noisy ground for
#: choosing configurations and ensembles, at twice the cost a trial. Measured at 60 s on the
#: shared tables of 561 to 1,732 training rows, two seeds (``benchmarks/results/repeats_60s.md``):
#: car, segment, credit_g, kc1 and vehicle better, titanic and blood_transfusion level.
REPEAT_ROWS = 2_000
REPEAT_BUDGET = 60
REPEATS = 2

Splits = list[tuple[np.ndarray, np.ndarray]]


def auto_folds(n_rows: int, time_budget: float | None = None, multiclass: bool = False) -> int:
    """Number of folds for ``cv="auto"`` (1 means a holdout): fewer as the data grows,
    so that a short budget still sees several configurations at full fidelity."""
    if n_rows <= SMALL:
        return 5
    long_run = time_budget is None or time_budget >= (LONG_BUDGET if multiclass else MID_BUDGET)
    if n_rows <= (LARGE if long_run else MEDIUM):
        return 3
    return 1


def auto_repeats(n_rows: int, n_folds: int, time_budget: float | None = None) -> int:
    """How many times ``cv_repeats="auto"`` draws the folds (1: once)."""
    if n_folds < 2 or n_rows > REPEAT_ROWS or time_budget is None or time_budget < REPEAT_BUDGET:
        return 1
    return REPEATS


def check_repeats(repeats: int | str) -> None:
    if repeats != "auto" and (isinstance(repeats, bool) or not isinstance(repeats, (int, np.integer)) or repeats < 1):
        raise DataError(f"cv_repeats={repeats!r}: use 'auto' or a number of repeats >= 1 (1: the folds once).")


def make_splits(y: np.ndarray, task: Task, cv: int | str, seed: int, time_budget: float | None = None,
                repeats: int | str = 1) -> Splits:
    """The (train, validation) index pairs every trial is evaluated on.

    ``cv`` is ``"auto"``, a number of folds >= 2, or 1 for a single holdout.
    For classification the folds are stratified; the number of folds is lowered to
    the size of the smallest class when needed (at least 2 rows per class are required).
    ``repeats`` (``"auto"`` or a number) draws the K folds that many times, reshuffled
    each time (seeds ``seed``, ``seed + 1``, ...): the pairs of the first draw come first.
    A holdout is never repeated.
    """
    check_repeats(repeats)
    n = len(y)
    multiclass = task is Task.MULTICLASS
    k = auto_folds(n, time_budget, multiclass) if cv == "auto" else int(cv)
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
    draws = auto_repeats(n, k, time_budget) if repeats == "auto" else int(repeats)
    splits: Splits = []
    for r in range(draws):
        splitter = (StratifiedKFold if stratify else KFold)(n_splits=k, shuffle=True, random_state=seed + r)
        splits += [(tr, va) for tr, va in splitter.split(idx, y if stratify else None)]
    return splits


def n_folds(splits: Splits, n_rows: int) -> int:
    """K of ``splits`` (1 for a holdout): every draw of K folds validates each row once."""
    validated = sum(len(va) for _, va in splits)
    return 1 if validated < n_rows else len(splits) * n_rows // validated


def n_repeats(splits: Splits, n_rows: int) -> int:
    """How many times ``splits`` validates each row."""
    return max(1, sum(len(va) for _, va in splits) // n_rows)


def validation_rows(splits: Splits) -> np.ndarray:
    """Indices that receive an out-of-fold prediction (all rows for K-fold)."""
    return np.unique(np.concatenate([va for _, va in splits]))
