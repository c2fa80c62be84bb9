"""``AutoML``'s prediction side, as scikit-learn sees it: ``predict``, ``predict_proba``
(an array in ``classes_`` order; a frame with ``as_frame=True``) and ``score``; its estimator
type and tags, the fitted check, and a ``clone`` that shares plugin objects.

``AutoML`` does both classification and regression, so its estimator type comes from its
task: ``task_`` once fitted, else the ``task`` setting ("binary", "multiclass" or
"classification": a classifier; "regression": a regressor; None: neither until fitted).
"""

from __future__ import annotations

import functools
import types
import warnings

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.utils import ClassifierTags, RegressorTags

from automl.data.inputs import as_frame, check_numbers, select_features, target_values
from automl.data.profile import Role
from automl.data.task import CLASSIFICATION, Task
from automl.exceptions import DataError, NotFittedError

#: Settings that ``clone`` hands on as they are, shared by the clones: plugin objects
#: (often modules, which cannot be copied), the Optuna storage (a connection) and artifact store.
SHARED_PARAMS = ("plugins", "storage", "artifacts")


def estimator_type(task) -> str | None:
    """The estimator type of ``task``: "classifier", "regressor", or None when undecided (None, "auto")."""
    if task == CLASSIFICATION:
        return "classifier"
    try:
        return "classifier" if Task(task).is_classification else "regressor"
    except (ValueError, TypeError):
        return None


def _task(estimator):
    return getattr(estimator, "task_", None) or estimator.task


class classification_only:
    """A method that exists only when the estimator is not a regressor, as scikit-learn's
    ``available_if`` does it: ``hasattr(aml, "predict_proba")`` is False for regression."""

    def __init__(self, method):
        self.method = method
        functools.update_wrapper(self, method)

    def __get__(self, obj, owner=None):
        if obj is None:
            return self.method
        if estimator_type(_task(obj)) == "regressor":
            raise AttributeError(f"{self.method.__name__} is only for classification; this {type(obj).__name__} "
                                 "does regression: use predict.")
        return types.MethodType(self.method, obj)


class Predictor:
    """Mixin of ``AutoML`` (before ``BaseEstimator``): what a fitted model does, and the
    scikit-learn conventions. It reads the fitted state ``fit`` sets: ``ensemble_``,
    ``task_``, ``classes_``, ``feature_columns_`` (``feature_names_in_``), ``scorer_``."""

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        task = _task(self)
        kind = estimator_type(task)
        tags.estimator_type = kind
        tags.classifier_tags = ClassifierTags(multi_class=task != Task.BINARY) if kind == "classifier" else None
        tags.regressor_tags = RegressorTags() if kind == "regressor" else None
        tags.target_tags.required = True
        tags.input_tags.allow_nan = True  # missing values are imputed (or handled by the model)
        # The search stops on the clock, and the ensemble's members on measured latencies:
        # only without both is a seed's model always the same.
        tags.non_deterministic = self.time_budget is not None or self.infer_limit is not None
        return tags

    def __sklearn_is_fitted__(self) -> bool:
        return hasattr(self, "ensemble_")

    def __sklearn_clone__(self):
        params = self.get_params(deep=False)
        return type(self)(**{k: v if k in SHARED_PARAMS else clone(v, safe=False) for k, v in params.items()})

    def _check_fitted(self) -> None:
        if not hasattr(self, "ensemble_"):
            raise NotFittedError("This AutoML object is not fitted yet; call fit(X, y) first.")

    def _features(self, X) -> pd.DataFrame:
        """The fitted columns of ``X``: by name from a frame, by position from an array;
        a column that was numeric at fit must hold numbers (or missing values)."""
        self._check_fitted()
        frame = select_features(X, self.feature_columns_, named=hasattr(self, "feature_names_in_"))
        check_numbers(frame, self.profile_.names(Role.NUMERIC, Role.BOOLEAN))
        return frame

    def _scores(self, X) -> np.ndarray:
        features = self._features(X)
        n_classes = len(self.classes_) if self.task_.is_classification else 0
        if len(features) == 0:  # no rows: nothing to predict, the right shape
            return np.zeros((0, n_classes)) if n_classes else np.zeros(0)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*feature names.*")
            return self.ensemble_.predict_scores(features, n_classes)

    def predict(self, X) -> np.ndarray:
        """Predicted labels (classification, from ``classes_``) or values (regression): an array."""
        scores = self._scores(X)
        if self.task_.is_classification:
            return self.classes_[np.argmax(scores, axis=1)]
        return scores

    @classification_only
    def predict_proba(self, X, as_frame: bool = False):
        """Class probabilities: an array of one column per class in ``classes_`` order, rows
        summing to 1. ``as_frame=True``: a DataFrame with the classes as columns and ``X``'s
        index. Only for classification (a regression model has no ``predict_proba``)."""
        scores = self._scores(X)
        proba = scores / scores.sum(axis=1, keepdims=True)
        if not as_frame:
            return proba
        index = X.index if isinstance(X, pd.DataFrame) else None
        return pd.DataFrame(proba, columns=list(self.classes_), index=index)

    def score(self, X, y=None) -> float:
        """The search metric (greater is better) on ``X`` with target ``y`` (name or values;
        default the fitted target's column of ``X``). Rows whose target is missing are left out."""
        self._check_fitted()
        target, _ = target_values(as_frame(X), y if y is not None else self.target_)
        keep = target.notna().to_numpy()
        if not keep.all():
            target, X = target[keep], (X.iloc[keep] if isinstance(X, pd.DataFrame) else np.asarray(X)[keep])
        scores = self._scores(X)
        metric = self.scorer_
        if self.task_.is_classification:
            labels = target.to_numpy()
            known = np.isin(labels, self.classes_)
            if not known.all():
                raise DataError(f"y holds labels the model was not fitted on: {pd.unique(labels[~known])[:5].tolist()}; "
                                f"it knows {self.classes_.tolist()}.")
            return metric.score(np.searchsorted(self.classes_, labels), scores, self.task_)
        return metric.score(target.to_numpy(dtype=float), scores, self.task_)
