"""Holdout metrics, the constant predictor, normalised scores and bootstrap noise.

Predictions are the systems' *scores*: class probabilities with one column per class of
the training rows (sorted, as ``np.unique`` gives them), or regression values. The
primary metric of a task is the one the normalised score and the comparisons use:
ROC AUC (binary), log loss (multiclass, lower is better) and R² (regression), as in
``shared/benchmarks/PEERS.md``.

Noise: the standard deviation of the paired difference of the primary metric between
two systems over ``N_BOOT`` bootstrap resamples of the test rows (seeded). A difference
within ``Z`` noise is a tie.
"""

from __future__ import annotations

import numpy as np
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score, root_mean_squared_error

PRIMARY = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "r2"}
LOWER_IS_BETTER = frozenset({"log_loss", "rmse"})
N_BOOT = 200
Z = 2.0
_EPS = 1e-15


def _proba(pred: np.ndarray) -> np.ndarray:
    """Probabilities clipped away from 0 and renormalised (as log loss sees them)."""
    pred = np.clip(np.asarray(pred, dtype=float), _EPS, 1)
    return pred / pred.sum(axis=1, keepdims=True)


def metrics(task: str, y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Every metric of the task. ``y``: class indices (classification) or values."""
    if task == "regression":
        return {"rmse": float(root_mean_squared_error(y, pred)), "r2": float(r2_score(y, pred))}
    pred = _proba(pred)
    out = {"accuracy": float(accuracy_score(y, pred.argmax(axis=1)))}
    if task == "binary":  # the log loss beside it: how far the probabilities can be trusted (issue 23)
        out["roc_auc"] = float(roc_auc_score(y == 1, pred[:, 1]))
    out["log_loss"] = float(log_loss(y, pred, labels=np.arange(pred.shape[1])))
    return out


def constant_prediction(task: str, y_train: np.ndarray, n_test: int, n_classes: int = 0) -> np.ndarray:
    """The constant predictor: the training class priors, or the training mean."""
    if task == "regression":
        return np.full(n_test, float(np.mean(y_train)))
    priors = np.bincount(y_train, minlength=n_classes) / len(y_train)
    return np.tile(priors, (n_test, 1))


def constant_score(task: str, y_train: np.ndarray, y_test: np.ndarray, n_classes: int = 0) -> float:
    """The primary metric of the constant predictor: AUC 0.5, R² 0, log loss of the priors."""
    if task == "binary":
        return 0.5
    if task == "regression":
        return 0.0
    return metrics(task, y_test, constant_prediction(task, y_train, len(y_test), n_classes))["log_loss"]


def normalise(score: float, const: float, best: float, lower_is_better: bool = False) -> float:
    """0 = constant predictor, 1 = ``best``; the same formula for lower-is-better metrics
    (log loss: (const - x) / (const - best)). NaN when the best is no better than constant."""
    span = best - const
    if lower_is_better:
        span = -span
    if not np.isfinite(score) or not np.isfinite(span) or span <= 0:
        return float("nan")
    return float((score - const) / (best - const))


def oriented(metric: str, value: float) -> float:
    """``value`` with greater = better."""
    return -value if metric in LOWER_IS_BETTER else value


def _bootstrap_rows(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def paired_difference(task: str, y: np.ndarray, pred_a: np.ndarray, pred_b: np.ndarray,
                      n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float]:
    """(difference, noise) of the primary metric, a minus b, oriented so that greater
    means a is better; noise is the bootstrap standard deviation of that difference."""
    metric = PRIMARY[task]
    diff = oriented(metric, metrics(task, y, pred_a)[metric]) - oriented(metric, metrics(task, y, pred_b)[metric])
    if n_boot < 2 or len(y) < 2:
        return diff, float("nan")
    rows = _bootstrap_rows(len(y), n_boot, seed)
    if task == "multiclass":  # mean of per-row losses: vectorised
        idx = np.arange(len(y))
        loss_a = -np.log(_proba(pred_a)[idx, y])
        loss_b = -np.log(_proba(pred_b)[idx, y])
        diffs = (loss_b - loss_a)[rows].mean(axis=1)
    elif task == "regression":  # R² difference = (SSE_b - SSE_a) / SST on each resample
        y = np.asarray(y, dtype=float)
        sq_a, sq_b = (y - pred_a) ** 2, (y - pred_b) ** 2
        yr = y[rows]
        sst = ((yr - yr.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        diffs = (sq_b[rows].sum(axis=1) - sq_a[rows].sum(axis=1)) / np.where(sst > 0, sst, np.nan)
    else:
        diffs = []
        for r in rows:
            yr = y[r]
            if yr.min() == yr.max():
                continue
            diffs.append(roc_auc_score(yr, pred_a[r, 1]) - roc_auc_score(yr, pred_b[r, 1]))
        diffs = np.asarray(diffs)
    diffs = diffs[np.isfinite(diffs)]
    return float(diff), float(np.std(diffs, ddof=1)) if len(diffs) > 1 else float("nan")


def verdict(diff: float, noise: float, z: float = Z) -> str:
    """"win", "tie" or "loss" for a (difference, noise) with greater = better."""
    if not np.isfinite(diff):
        return "win" if diff == np.inf else "loss"
    band = z * noise if np.isfinite(noise) else 0.0
    if abs(diff) <= band:
        return "tie"
    return "win" if diff > 0 else "loss"
