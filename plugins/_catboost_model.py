"""The CatBoost model the plugin builds: a scikit-learn estimator around CatBoost's own.

The preprocessing hands categorical columns as pandas ``category`` (levels seen in the
fold, missing and unseen values as NaN); CatBoost wants them as integers or strings and
told which they are. :class:`CatBoostModel` passes each categorical column's codes (-1
for missing) as a CatBoost categorical feature, so CatBoost's ordered target statistics
encode them inside its own training, and every other column as a number.

``fit(X, y, init_model=...)`` boosts on from a fitted model (continuation across rungs);
``time_limit`` stops adding trees that many seconds into a fit (a training callback).
In a model file the booster is stored in CatBoost's own binary format and the wrapper's
settings and fitted attributes as JSON (``dump``/``load``): no pickle.
"""

from __future__ import annotations

import json
import os
import tempfile
import time

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

from automl import decode_plain, encode_plain

TYPES = ("automl_plugins._catboost_model.CatBoostClassifierModel",
         "automl_plugins._catboost_model.CatBoostRegressorModel")


class _StopAt:
    """CatBoost callback: no more trees after ``seconds`` from the start of the fit."""

    def __init__(self, seconds: float):
        self.deadline = time.perf_counter() + seconds

    def after_iteration(self, info) -> bool:
        return time.perf_counter() < self.deadline  # False stops training


class CatBoostModel(BaseEstimator):
    """CatBoost for a task ("binary", "multiclass" or "regression"); labels 0..K-1. Built
    as one of the two subclasses, so that scikit-learn sees a classifier or a regressor."""

    def __init__(self, task: str = "binary", iterations: int = 500, learning_rate: float = 0.08,
                 depth: int = 6, l2_leaf_reg: float = 3.0, random_strength: float = 1.0,
                 bagging_temperature: float = 1.0, one_hot_max_size: int = 2, max_ctr_complexity: int = 1,
                 random_state: int = 0,
                 thread_count: int = 1, time_limit: float | None = None):
        self.task = task
        self.iterations = iterations
        self.learning_rate = learning_rate
        self.depth = depth
        self.l2_leaf_reg = l2_leaf_reg
        self.random_strength = random_strength
        self.bagging_temperature = bagging_temperature
        self.one_hot_max_size = one_hot_max_size
        self.max_ctr_complexity = max_ctr_complexity
        self.random_state = random_state
        self.thread_count = thread_count
        self.time_limit = time_limit

    def _booster_class(self):
        import catboost

        return catboost.CatBoostRegressor if self.task == "regression" else catboost.CatBoostClassifier

    def _pool(self, X, y=None):
        import catboost

        # an array (the fast path's compiled matrix when no column is categorical): the
        # columns in fitted order, named as CatBoost saw them at fit
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X), columns=self.feature_names_)
        columns = {}
        for i, (name, col) in enumerate(frame.items()):
            if i in self.cat_features_:
                columns[str(name)] = col.cat.codes.to_numpy(dtype=np.int64) if isinstance(
                    col.dtype, pd.CategoricalDtype) else col.astype(str).to_numpy()
            else:
                columns[str(name)] = pd.to_numeric(col, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        return catboost.Pool(pd.DataFrame(columns, index=None), y, cat_features=list(self.cat_features_))

    def fit(self, X, y, init_model: "CatBoostModel | None" = None) -> "CatBoostModel":
        frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame(np.asarray(X))
        self.cat_features_ = [i for i, (_, col) in enumerate(frame.items())
                              if isinstance(col.dtype, pd.CategoricalDtype) or col.dtype == object]
        self.n_features_in_ = frame.shape[1]
        self.feature_names_ = [str(c) for c in frame.columns]
        y = np.asarray(y)
        loss = {"binary": "Logloss", "multiclass": "MultiClass"}.get(self.task, "RMSE")
        booster = self._booster_class()(
            iterations=int(self.iterations), learning_rate=self.learning_rate, depth=int(self.depth),
            l2_leaf_reg=self.l2_leaf_reg, random_strength=self.random_strength,
            bagging_temperature=self.bagging_temperature, one_hot_max_size=int(self.one_hot_max_size),
            max_ctr_complexity=int(self.max_ctr_complexity),
            random_seed=int(self.random_state), thread_count=int(self.thread_count), loss_function=loss,
            verbose=False, allow_writing_files=False,
        )
        callbacks = None if self.time_limit is None else [_StopAt(self.time_limit)]
        init = None if init_model is None else init_model.booster_
        booster.fit(self._pool(frame, y), init_model=init, callbacks=callbacks)
        self.booster_ = booster
        if self.task != "regression":
            self.classes_ = np.asarray(booster.classes_).astype(int)
        return self

    @property
    def n_trees_(self) -> int:
        return int(self.booster_.tree_count_)



class CatBoostClassifierModel(ClassifierMixin, CatBoostModel):
    def predict_proba(self, X) -> np.ndarray:
        return np.asarray(self.booster_.predict_proba(self._pool(X)), dtype=float)

    def predict(self, X) -> np.ndarray:
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class CatBoostRegressorModel(RegressorMixin, CatBoostModel):
    def predict(self, X) -> np.ndarray:
        return np.asarray(self.booster_.predict(self._pool(X)), dtype=float)


def make(task: str, **params) -> CatBoostModel:
    """The CatBoost estimator for ``task`` ("binary", "multiclass" or "regression")."""
    cls = CatBoostRegressorModel if task == "regression" else CatBoostClassifierModel
    return cls(task=task, **params)


# ------------------------------------------------------------------ model file --
def dump(model: CatBoostModel) -> dict[str, bytes]:
    state = {k: v for k, v in vars(model).items() if k != "booster_"}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "model.cbm")
        model.booster_.save_model(path, format="cbm")
        with open(path, "rb") as fh:
            booster = fh.read()
    return {"booster.cbm": booster, "wrapper.json": json.dumps(encode_plain(state), allow_nan=False).encode()}


def load(name: str, files) -> CatBoostModel:
    state = decode_plain(json.loads(files["wrapper.json"]))
    if not isinstance(state, dict):
        raise ValueError("the CatBoost wrapper's attributes are not a JSON object")
    model = make("regression" if name.endswith("RegressorModel") else "binary")
    vars(model).update(state)
    booster = model._booster_class()()
    booster.load_model(blob=bytes(files["booster.cbm"]))
    model.booster_ = booster
    return model
