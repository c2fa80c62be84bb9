"""The search metric: a scikit-learn scorer or a plugin's metric, applied to stored predictions.

Scores are computed from out-of-fold predictions (no second predict pass). A
scikit-learn scorer is handed a tiny estimator that replays them; this uses only
sklearn's public scorer API, so any scorer name ``sklearn.metrics.get_scorer`` knows
works. A plugin's :class:`MetricSpec` (hook ``automl_register_metrics``) is called on
the predictions directly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Callable, Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.metrics import get_scorer, get_scorer_names

from automl.exceptions import DataError, PluginError
from automl.fast_metrics import fast_score
from automl.spec import check_name_and_tasks
from automl.data.task import Task

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
class MetricSpec:
    """A metric a plugin contributes (hook ``automl_register_metrics``).

    Parameters
    ----------
    name : lower_snake_case; ``AutoML(metric=name)`` and ``automl fit --metric name``
        select it. It must not be a scikit-learn scorer name or one of automl's aliases.
    tasks : the tasks it applies to.
    score : ``(y_true, y_pred) -> float``. ``y_true``: for classification the class
        indices 0..K-1 (in ``classes_`` order: the core encodes the labels), for
        regression the target values. ``y_pred``: with ``needs_proba`` the class
        probabilities, shape ``(n_rows, K)``, columns in ``classes_`` order (binary
        tasks too: column 1 is the positive class); else the predicted class indices
        (classification) or the predicted values (regression).
    greater_is_better : False for losses (the search then maximises ``-score``).
    needs_proba : classification only: ``y_pred`` holds probabilities, not classes.
    description : one line for ``automl plugins``.
    """

    name: str
    tasks: frozenset[Task]
    score: Callable[[np.ndarray, np.ndarray], float]
    greater_is_better: bool = True
    needs_proba: bool = False
    description: str = ""
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        who = f"MetricSpec {self.name!r}"
        tasks = check_name_and_tasks(who, self.name, self.tasks)
        if self.name in get_scorer_names() or self.name in ALIASES:
            raise PluginError(f"{who}: the name is taken by a scikit-learn scorer or alias; choose another.")
        if self.needs_proba and Task.REGRESSION in tasks:
            raise PluginError(f"{who}: needs_proba applies to classification; remove regression from tasks.")
        if not callable(self.score):
            raise PluginError(f"{who}: score must be callable as score(y_true, y_pred) -> float.")
        object.__setattr__(self, "tasks", tasks)

    def supports(self, task: Task) -> bool:
        return Task(task) in self.tasks

    def __call__(self, y_true: np.ndarray, pred: np.ndarray, task: Task) -> float:
        """Greater-is-better score of ``pred`` (probabilities for classification, as the
        search stores them; values for regression)."""
        if task.is_classification and not self.needs_proba:
            pred = np.argmax(pred, axis=1)
        value = float(self.score(y_true, pred))
        return value if self.greater_is_better else -value


@dataclass(frozen=True)
class Metric:
    """A named scorer; ``score`` is always greater-is-better (sklearn's convention).

    ``scorer`` is a scikit-learn scorer or a plugin's :class:`MetricSpec`.
    """

    name: str
    scorer: object

    def score(self, y_true: np.ndarray, pred: np.ndarray, task: Task) -> float:
        if isinstance(self.scorer, MetricSpec):
            return self.scorer(y_true, pred, task)
        fast = fast_score(self.name, np.asarray(y_true), np.asarray(pred), task)
        if fast is not None:
            return fast
        replay = _ReplayClassifier(pred) if task.is_classification else _ReplayRegressor(pred)
        return float(self.scorer(replay, np.empty((len(y_true), 0)), y_true))


@dataclass(frozen=True)
class UnavailableMetric:
    """A loaded model's plugin metric whose plugin is not installed here: scoring with it
    raises an error that says which plugin to install (predicting needs no metric)."""

    name: str
    plugin: str = ""
    distribution: str = ""

    def __call__(self, *args, **kwargs) -> float:
        origin = f"plugin {self.plugin!r}" + (f" (pip install {self.distribution})" if self.distribution else "")
        raise DataError(f"This model's metric {self.name!r} comes from {origin}, which is not installed here; "
                        "install it to score the model or measure feature importances.")


def _lookup(metric: str, custom: Mapping[str, MetricSpec] | None) -> tuple[str, object]:
    """The scorer name and the sklearn scorer or plugin metric ``metric`` names."""
    name = ALIASES.get(metric, metric)
    if name in get_scorer_names():
        return name, get_scorer(name)
    custom = custom or {}
    if name in custom:
        return name, custom[name]
    plugins = f" Plugin metrics: {', '.join(sorted(custom))}." if custom else ""
    close = difflib.get_close_matches(metric, [*get_scorer_names(), *ALIASES, *custom], n=3)
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    raise DataError(
        f"metric={metric!r} is neither a scikit-learn scorer name nor a plugin's metric.{hint} Examples: "
        f"{', '.join(sorted(set(DEFAULT_METRICS.values()) | {'accuracy', 'r2', 'f1', 'balanced_accuracy'}))}; "
        f"all: {len(get_scorer_names())} names in sklearn.metrics.get_scorer_names().{plugins}"
    )


def check_metric_name(metric: str, custom: Mapping[str, MetricSpec] | None = None) -> None:
    """Raise :class:`DataError` unless ``metric`` names a scorer or a plugin metric (any task)."""
    _lookup(metric, custom)


def resolve_metric(metric: str | None, task: Task, custom: Mapping[str, MetricSpec] | None = None) -> Metric:
    """``None`` gives the task's default; else a scikit-learn scorer name (or a short
    alias) or the name of a plugin's metric. ``custom``: the plugin metrics by name
    (``Registry.metrics``); none by default."""
    if metric is None:
        return Metric(name=DEFAULT_METRICS[task], scorer=get_scorer(DEFAULT_METRICS[task]))
    name, scorer = _lookup(metric, custom)
    if isinstance(scorer, MetricSpec):
        if not scorer.supports(task):
            tasks = ", ".join(sorted(t.value for t in scorer.tasks))
            raise DataError(
                f"metric={metric!r} (plugin {scorer.plugin or '?'!r}) applies to {tasks} tasks, not {task.value}."
            )
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
