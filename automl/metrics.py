"""The search metric: a scikit-learn scorer, applied to stored predictions.

Scores are computed from out-of-fold predictions (no second predict pass) by handing
the scorer a tiny estimator that replays them; this uses only sklearn's public scorer
API, so any scorer name ``sklearn.metrics.get_scorer`` knows works.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer, get_scorer_names

from automl.exceptions import DataError
from automl.task import Task

DEFAULT_METRICS = {
    Task.BINARY: "roc_auc",
    Task.MULTICLASS: "neg_log_loss",
    Task.REGRESSION: "neg_root_mean_squared_error",
}
ALIASES = {
    "auc": "roc_auc",
    "log_loss": "neg_log_loss",
    "logloss": "neg_log_loss",
    "rmse": "neg_root_mean_squared_error",
    "mse": "neg_mean_squared_error",
    "mae": "neg_mean_absolute_error",
}


@dataclass(frozen=True)
class Metric:
    """A named scorer; ``score`` is always greater-is-better (sklearn's convention)."""

    name: str
    scorer: object

    def score(self, y_true: np.ndarray, pred: np.ndarray, task: Task) -> float:
        replay = _ReplayClassifier(pred) if task.is_classification else _ReplayRegressor(pred)
        return float(self.scorer(replay, np.empty((len(y_true), 0)), y_true))


def resolve_metric(metric: str | None, task: Task) -> Metric:
    """``None`` gives the task's default; else a scikit-learn scorer name (or a short alias)."""
    name = DEFAULT_METRICS[task] if metric is None else ALIASES.get(metric, metric)
    try:
        scorer = get_scorer(name)
    except (ValueError, TypeError):
        raise DataError(
            f"metric={metric!r} is not a scikit-learn scorer name. Examples: "
            f"{', '.join(sorted(set(DEFAULT_METRICS.values()) | {'accuracy', 'r2', 'f1', 'balanced_accuracy'}))}; "
            f"all: {len(get_scorer_names())} names in sklearn.metrics.get_scorer_names()."
        ) from None
    return Metric(name=name, scorer=scorer)


class _ReplayClassifier(ClassifierMixin, BaseEstimator):
    """Returns stored class probabilities (columns = encoded classes 0..K-1)."""

    def __init__(self, proba=None):
        self.proba = proba

    @property
    def classes_(self):
        return np.arange(self.proba.shape[1])

    def predict_proba(self, X):
        return self.proba

    def predict(self, X):
        return np.argmax(self.proba, axis=1)


class _ReplayRegressor(RegressorMixin, BaseEstimator):
    def __init__(self, values=None):
        self.values = values

    def predict(self, X):
        return self.values
