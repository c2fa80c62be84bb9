"""The common scikit-learn scorers computed directly in NumPy.

Through its scorer API, scikit-learn spends 4-7 ms a call validating input, whatever the
size of the data: choosing the ensemble scores the candidates about 800 times (greedy
selection, in each inner fold), which took 3.5 s on a 634-row table and ate the time left
for its members' refits. These give the same values (to rounding) as the scorers they stand
for, and step aside (None) wherever scikit-learn would warn, raise or treat a special case,
so that the caller falls back on scikit-learn itself.
"""

from __future__ import annotations

from typing import Callable

import numpy as np
from scipy.stats import rankdata

from automl.data.task import Task


def fast_score(name: str, y: np.ndarray, pred: np.ndarray, task: Task) -> float | None:
    """Scorer ``name``'s value (greater is better) of ``pred`` (class probabilities for
    classification, values for regression) against ``y`` (class indices 0..K-1, or values),
    or None where this module does not compute it the same way scikit-learn does."""
    score = _SCORERS.get((name, task.is_classification))
    if score is None or len(y) == 0 or len(y) != len(pred) or pred.dtype.kind != "f":
        return None
    if not np.isfinite(pred).all():
        return None
    if task.is_classification:
        if pred.ndim != 2 or y.dtype.kind not in "iu" or y.min() < 0 or y.max() >= pred.shape[1]:
            return None
    elif pred.ndim != 1 or y.dtype.kind != "f" or not np.isfinite(y).all():
        return None
    return score(y, pred, task)


def _log_loss(y: np.ndarray, proba: np.ndarray, task: Task) -> float | None:
    # scikit-learn: the positive column alone for two classes (the other is 1 - it), the labels
    # from y (all columns' classes must occur), clipped at the dtype's machine precision.
    if (proba < 0).any() or (proba > 1).any():
        return None
    eps = np.finfo(proba.dtype).eps
    if task is Task.BINARY and proba.shape[1] == 2:
        if np.ptp(y) == 0:
            return None
        positive = np.clip(proba[:, 1], eps, 1 - eps)
        p = np.where(y == 1, positive, 1 - positive)
    else:
        if np.bincount(y, minlength=proba.shape[1]).min() == 0:
            return None
        p = np.clip(proba[np.arange(len(y)), y], eps, 1 - eps)
    return float(np.log(p).mean())


def _roc_auc(y: np.ndarray, proba: np.ndarray, task: Task) -> float | None:
    # The Mann-Whitney U statistic with average ranks for ties: the area under the ROC curve.
    if task is not Task.BINARY or proba.shape[1] != 2:
        return None
    positives = y == 1
    n_pos = int(positives.sum())
    n_neg = len(y) - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = rankdata(proba[:, 1])
    return float((ranks[positives].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _accuracy(y: np.ndarray, proba: np.ndarray, task: Task) -> float:
    return float((np.argmax(proba, axis=1) == y).mean())


def _rmse(y, pred, task) -> float:
    return -float(np.sqrt(np.mean((y - pred) ** 2)))


def _mse(y, pred, task) -> float:
    return -float(np.mean((y - pred) ** 2))


def _mae(y, pred, task) -> float:
    return -float(np.mean(np.abs(y - pred)))


def _r2(y, pred, task) -> float | None:
    total = float(np.sum((y - y.mean()) ** 2))
    if total == 0 or len(y) < 2:
        return None  # scikit-learn's special cases
    return 1.0 - float(np.sum((y - pred) ** 2)) / total


_SCORERS: dict[tuple[str, bool], Callable] = {
    ("neg_log_loss", True): _log_loss,
    ("roc_auc", True): _roc_auc,
    ("accuracy", True): _accuracy,
    ("neg_root_mean_squared_error", False): _rmse,
    ("neg_mean_squared_error", False): _mse,
    ("neg_mean_absolute_error", False): _mae,
    ("r2", False): _r2,
}
