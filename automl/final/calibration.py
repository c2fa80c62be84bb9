"""Probabilities that can be trusted: calibrate the final model's class probabilities on
its out-of-fold predictions.

The search ranks models by its metric; with a ranking metric (ROC AUC) or accuracy the
winner's probabilities may be far from frequencies (an over-confident booster, a
k-NN). :func:`calibrate` fits each calibration method on the final model's out-of-fold
probabilities of the validation rows and scores it honestly: an inner ``FOLDS``-fold
cross-validation over those rows (each method fitted on the other folds). The method
with the lowest out-of-fold log loss is kept when it lowers the uncalibrated log loss
by more than ``TOLERANCE`` (relative) and does not lower the search metric out of fold.

Methods (all map probabilities to probabilities; rows still sum to 1):

* **temperature**: ``softmax(log p / T)`` (one parameter; monotone, so ROC AUC and the
  arg-max class are unchanged); binary and multiclass;
* **platt**: ``sigmoid(a · logit p + b)`` with ``a > 0``; binary;
* **isotonic**: a non-decreasing step function of ``p`` (scikit-learn's
  ``IsotonicRegression``, stored as its thresholds); binary, and only for metrics that
  do not rank (its ties can change ROC AUC).

A calibrator is plain numbers (JSON in the model file): no fitted object to unpickle.

Whatever the method, the final probabilities then get a **floor** (:func:`floor_for`): a
share ``0.5 / (n + 1)`` of the uniform distribution is mixed in, ``n`` the out-of-fold
rows. A model may be certain of a class (a random forest's pure leaves give probability
0), and one certain error on new rows costs about 34 nats of log loss (titanic at 60 s,
seed 0: a random forest's holdout log loss 0.76 against 0.40 out of fold). Mixing a share
``a`` costs about ``a`` nats a row and saves about ``34 - log(K / a)`` a certain error, so the
best ``a`` is the rate of such errors; ``n`` rows without one put it near ``0.5 / (n + 1)``
(the Jeffreys estimate of a rate never seen). The mix is monotone: the ranking and the
arg-max class are unchanged. No floor when the search metric judges the probabilities
themselves (log loss, Brier score): the search already punishes a certain mistake, and the
floor would only cost (car at 30 s: holdout log loss 0.0071 without, 0.0074 with).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize, minimize_scalar
from sklearn.isotonic import IsotonicRegression
from sklearn.model_selection import KFold, StratifiedKFold

from automl.data.task import Task
from automl.metrics import Metric

METHODS = ("temperature", "platt", "isotonic")
FOLDS = 5
#: A calibration is kept when it lowers the out-of-fold log loss by more than this (relative).
TOLERANCE = 1e-3
_EPS = 1e-7
#: Metrics whose score depends only on the order of the scores: no isotonic (ties).
RANKING = ("roc_auc", "average_precision")  # prefixes: roc_auc_ovr, ...


@dataclass
class Calibrator:
    """A fitted calibration: ``method`` and its ``params`` (JSON numbers)."""

    method: str
    params: dict = field(default_factory=dict)

    def apply(self, proba: np.ndarray) -> np.ndarray:
        """Calibrated probabilities for ``proba`` (rows of class probabilities)."""
        proba = np.clip(np.asarray(proba, dtype=float), _EPS, 1.0)
        if self.method == "temperature":
            z = np.log(proba) / self.params["temperature"]
            z -= z.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        p1 = np.clip(proba[:, 1] / proba.sum(axis=1), _EPS, 1 - _EPS)
        if self.method == "platt":
            p1 = 1.0 / (1.0 + np.exp(-(self.params["a"] * np.log(p1 / (1 - p1)) + self.params["b"])))
        elif self.method == "isotonic":
            p1 = np.interp(p1, self.params["x"], self.params["y"])
        else:
            raise ValueError(f"unknown calibration method {self.method!r}; expected one of {', '.join(METHODS)}.")
        p1 = np.clip(p1, _EPS, 1 - _EPS)
        return np.column_stack([1 - p1, p1])

    def __str__(self) -> str:
        shown = {k: round(v, 4) for k, v in self.params.items() if isinstance(v, float)}
        return f"{self.method} {shown}" if shown else self.method


#: Metrics that judge the probabilities: no floor (see the module's docstring).
PROBABILISTIC = ("neg_log_loss", "neg_brier_score")


def floor_for(n_rows: int, metric: Metric | None = None) -> float:
    """The share of the uniform distribution mixed into the final probabilities when
    ``n_rows`` out-of-fold rows were seen and the search used ``metric`` (see the module's
    docstring)."""
    if metric is not None and metric.name in PROBABILISTIC:
        return 0.0
    return 0.5 / (max(int(n_rows), 0) + 1)


def with_floor(proba: np.ndarray, floor: float) -> np.ndarray:
    """``proba`` (rows of class probabilities) mixed with a share ``floor`` of the uniform
    distribution: each probability at least ``floor / K``; rows still sum to 1."""
    if not floor:
        return proba
    return (1.0 - floor) * proba + floor / proba.shape[1]


def log_loss(y: np.ndarray, proba: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels ``y`` (0..K-1) under ``proba``."""
    p = np.clip(np.asarray(proba, dtype=float)[np.arange(len(y)), np.asarray(y, dtype=int)], _EPS, 1.0)
    return float(-np.mean(np.log(p)))


def fit_method(method: str, proba: np.ndarray, y: np.ndarray) -> Calibrator:
    """``method`` fitted on ``proba`` (validation rows' probabilities) and labels ``y``."""
    proba = np.clip(np.asarray(proba, dtype=float), _EPS, 1.0)
    if method == "temperature":
        def loss(log_t):
            return log_loss(y, Calibrator("temperature", {"temperature": float(np.exp(log_t))}).apply(proba))

        with np.errstate(over="ignore", under="ignore"):
            best = minimize_scalar(loss, bounds=(-3.0, 3.0), method="bounded", options={"xatol": 1e-3})
        return Calibrator("temperature", {"temperature": float(np.exp(best.x))})
    p1 = np.clip(proba[:, 1] / proba.sum(axis=1), _EPS, 1 - _EPS)
    if method == "platt":
        z = np.log(p1 / (1 - p1))

        def nll(ab):
            t = ab[0] * z + ab[1]
            return float(np.mean(np.logaddexp(0, t) - y * t))

        ab = minimize(nll, np.array([1.0, 0.0]), method="L-BFGS-B", bounds=[(1e-3, 1e3), (-50, 50)]).x
        return Calibrator("platt", {"a": float(ab[0]), "b": float(ab[1])})
    if method == "isotonic":
        iso = IsotonicRegression(y_min=_EPS, y_max=1 - _EPS, out_of_bounds="clip").fit(p1, y)
        return Calibrator("isotonic", {"x": iso.X_thresholds_.tolist(), "y": iso.y_thresholds_.tolist()})
    raise ValueError(f"unknown calibration method {method!r}; expected one of {', '.join(METHODS)}.")


def methods_for(task: Task, metric: Metric, setting: str = "auto") -> list[str]:
    """The methods tried: all that fit the task and metric (``setting="auto"``) or the one named."""
    usable = ["temperature"]
    if task is Task.BINARY:
        usable.append("platt")
        if not metric.name.startswith(RANKING):
            usable.append("isotonic")
    if setting == "auto":
        return usable
    return [setting] if setting in usable else []


def _folds(y: np.ndarray, seed: int):
    counts = np.bincount(y)
    if counts[counts > 0].min() >= FOLDS:
        return StratifiedKFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)), y)
    return KFold(FOLDS, shuffle=True, random_state=seed).split(np.zeros(len(y)))


def _fold_score(metric: Metric, y: np.ndarray, proba: np.ndarray, task: Task, folds) -> float:
    """``metric`` averaged over the inner test folds (each fold's calibrator maps only its
    own rows, so a monotone one leaves each fold's ranking, not the pooled one, intact)."""
    scores = []
    for _, te in folds:
        try:
            scores.append(metric.score(y[te], proba[te], task))
        except ValueError:  # e.g. ROC AUC on a fold with one class
            continue
    return float(np.nanmean(scores)) if scores else float("nan")


def calibrate(proba: np.ndarray, y: np.ndarray, task: Task, metric: Metric, seed: int,
              setting: str = "auto") -> tuple[Calibrator | None, str]:
    """The calibration to apply to the final model's probabilities (or None) and a note
    saying what was chosen and why. ``proba``: its out-of-fold probabilities on the
    validation rows, ``y``: their labels (0..K-1)."""
    if not task.is_classification or setting in (None, "none", False):
        return None, ""
    y = np.asarray(y, dtype=int)
    methods = methods_for(task, metric, setting)
    if not methods or len(y) < 2 * FOLDS or len(np.unique(y)) < 2:
        return None, "probabilities not calibrated: too few validation rows or classes"
    nested = {m: np.zeros_like(proba, dtype=float) for m in methods}
    folds = list(_folds(y, seed))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        for tr, te in folds:
            for m in methods:
                nested[m][te] = fit_method(m, proba[tr], y[tr]).apply(proba[te])
    base_loss, base_score = log_loss(y, proba), _fold_score(metric, y, proba, task, folds)
    losses = {m: log_loss(y, p) for m, p in nested.items()}
    shown = ", ".join(f"{m} {v:.4f}" for m, v in losses.items())
    best = min(losses, key=lambda m: (losses[m], methods.index(m)))  # ties: the simpler one
    if losses[best] >= base_loss * (1 - TOLERANCE):
        return None, f"probabilities not calibrated: out-of-fold log loss {base_loss:.4f}, calibrated {shown}"
    if _fold_score(metric, y, nested[best], task, folds) < base_score - 1e-9:
        return None, (f"probabilities not calibrated: {best} lowers the log loss ({base_loss:.4f} to "
                      f"{losses[best]:.4f}) but also the {metric.name} out of fold")
    calibrator = fit_method(best, proba, y)
    return calibrator, (f"probabilities calibrated ({calibrator}): out-of-fold log loss {base_loss:.4f} "
                        f"to {losses[best]:.4f} ({shown})")
