"""The systems the benchmark compares, each a ``fit`` function returning a :class:`Fitted`.

``fit(X, y, task, budget, seed, n_jobs)`` gets the training features (a DataFrame as read
from the CSV), the target (class labels or values) and the CPU allowance ``n_jobs``.
``Fitted.call`` is what a user would call to predict (``predict_proba`` for
classification, ``predict`` for regression) on a DataFrame: it is the call whose latency
is measured. ``Fitted.classes`` is the model's class order for that call's columns.

* ``automl``: this project at the budget, with its built-in models only (those of installed
  third-party plugins, such as the examples the test command installs, are excluded).
* ``flaml``: FLAML at the same budget and metric (optional: ``benchmarks/requirements.txt``).
* ``hgb``, ``lgbm``: default HistGradientBoosting and LightGBM, the "no AutoML" baselines;
  string columns ordinal-coded, native categoricals up to 250 levels (above: plain
  ordinal codes), as in ``shared/benchmarks/PEERS.md``.
* ``automl-no-*``: automl with one of issue 23's items switched off (``ablation.py``).
* ``dummy`` (the constant predictor, a sanity check: its normalised score is about 0) and
  ``fail`` (always raises: exercises the runner's error path). Not run by default.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import pandas as pd

from benchmarks.ablation import SYSTEMS as ABLATION_SYSTEMS

MAX_NATIVE_LEVELS = 250
METRIC_NAMES = {"binary": "roc_auc", "multiclass": "log_loss", "regression": "rmse"}


@dataclass
class Fitted:
    call: Callable[[pd.DataFrame], object]
    classes: list | None = None
    extras: dict = field(default_factory=dict)
    #: name -> callable giving other scores to evaluate on the test rows (aligned like ``call``)
    alternatives: dict = field(default_factory=dict)


def aligned(out, model_classes, classes) -> np.ndarray:
    """``out`` of ``Fitted.call`` as scores: probabilities in ``classes`` order, or values."""
    arr = np.asarray(out, dtype=float)
    if classes is None:
        return arr.ravel()
    if model_classes is None:
        model_classes = classes
    where = {str(c): i for i, c in enumerate(model_classes)}
    full = np.zeros((len(arr), len(classes)))
    for j, c in enumerate(classes):
        if str(c) in where:
            full[:, j] = arr[:, where[str(c)]]
    return full


# ---------------------------------------------------------------- baselines --
class NativeCategoricals:
    """String columns ordinal-coded (unknown and missing: NaN); those with at most
    ``MAX_NATIVE_LEVELS`` levels are flagged categorical, the others stay ordinal codes."""

    def fit(self, X: pd.DataFrame) -> "NativeCategoricals":
        from sklearn.preprocessing import OrdinalEncoder

        self.columns = list(X.columns)
        self.cats = [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])]
        self.encoder = OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=np.nan,
                                      encoded_missing_value=np.nan)
        if self.cats:
            self.encoder.fit(X[self.cats].astype(object))
        self.native = [c for c in self.cats if X[c].nunique() <= MAX_NATIVE_LEVELS]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        X = X[self.columns].copy()
        if self.cats:
            X[self.cats] = self.encoder.transform(X[self.cats].astype(object))
        return X.astype(float)


def fit_hgb(X, y, task, budget, seed, n_jobs) -> Fitted:
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

    enc = NativeCategoricals().fit(X)
    mask = [c in enc.native for c in enc.columns]
    cls = HistGradientBoostingRegressor if task == "regression" else HistGradientBoostingClassifier
    model = cls(categorical_features=mask, random_state=seed).fit(enc.transform(X), y)
    return _baseline(model, enc, task)


def fit_lgbm(X, y, task, budget, seed, n_jobs) -> Fitted:
    import lightgbm as lgb

    enc = NativeCategoricals().fit(X)
    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    model = cls(random_state=seed, n_jobs=n_jobs, verbose=-1)
    model.fit(enc.transform(X), y, categorical_feature=enc.native or "auto")
    return _baseline(model, enc, task)


def _baseline(model, enc: NativeCategoricals, task: str) -> Fitted:
    if task == "regression":
        return Fitted(lambda X: model.predict(enc.transform(X)))
    return Fitted(lambda X: model.predict_proba(enc.transform(X)), list(model.classes_))


def fit_dummy(X, y, task, budget, seed, n_jobs) -> Fitted:
    if task == "regression":
        mean = float(np.mean(y))
        return Fitted(lambda X: np.full(len(X), mean))
    classes, counts = np.unique(np.asarray(y), return_counts=True)
    priors = counts / counts.sum()
    return Fitted(lambda X: np.tile(priors, (len(X), 1)), list(classes))


def fit_fail(X, y, task, budget, seed, n_jobs) -> Fitted:
    raise RuntimeError("deliberate failure: the 'fail' system exercises the runner's error path")


# ------------------------------------------------------------------- automl --
def third_party_models() -> list[str]:
    """The models of installed third-party plugins (the test command installs the example
    plugins into the same environment): the benchmark measures the built-in models only."""
    from automl.registry import discover
    from automl.search.isolation import is_builtin

    return sorted(name for name, spec in discover().specs.items() if not is_builtin(spec))


def fit_automl(X, y, task, budget, seed, n_jobs, **settings) -> Fitted:
    from automl import AutoML

    settings["exclude_models"] = [*settings.get("exclude_models", ()), *third_party_models()]
    aml = AutoML(time_budget=budget, seed=seed, n_jobs=n_jobs, verbose=0, **settings).fit(X, y)
    board = aml.leaderboard()
    ens = aml.ensemble_
    extras = {
        "best_model": aml.best_model_name_,
        "cv_score": aml.best_score_,
        "n_trials": len(board),
        "ensemble": ens.method,
        "ensemble_members": len(ens.members),
        "ensemble_report": ens.report,
        "timings": aml.timings_,
    }
    if task == "regression":
        fitted = Fitted(aml.predict, None, extras)
    else:
        fitted = Fitted(aml.predict_proba, list(aml.classes_), extras)
    fitted.alternatives["single"] = _single_best(aml, task)
    return fitted


def _single_best(aml, task: str):
    """The best single pipeline's predictions (issue #4's "best single model"): the final
    model itself when no ensemble was kept."""
    if aml.ensemble_.method == "single":
        return aml.predict if task == "regression" else aml.predict_proba
    from automl.data.inputs import select_features
    from automl.preprocessing.pipeline import predict_scores

    n_classes = 0 if task == "regression" else len(aml.classes_)
    return lambda X: predict_scores(aml.best_model_, select_features(X, aml.feature_columns_), n_classes)


# -------------------------------------------------------------------- flaml --
def flaml_available() -> bool:
    return importlib.util.find_spec("flaml") is not None


def fit_flaml(X, y, task, budget, seed, n_jobs) -> Fitted:
    from flaml import AutoML as FLAML

    model = FLAML()
    model.fit(X_train=X, y_train=y, task="regression" if task == "regression" else "classification",
              metric=METRIC_NAMES[task], time_budget=budget, n_jobs=n_jobs, seed=seed, verbose=0)
    extras = {"best_model": model.best_estimator, "cv_score": model.best_loss}
    if task == "regression":
        return Fitted(model.predict, None, extras)
    return Fitted(model.predict_proba, list(model.classes_), extras)


SYSTEMS: dict[str, Callable[..., Fitted]] = {
    "automl": fit_automl,
    "flaml": fit_flaml,
    "hgb": fit_hgb,
    "lgbm": fit_lgbm,
    "dummy": fit_dummy,
    "fail": fit_fail,
}
SYSTEMS.update(ABLATION_SYSTEMS)
DEFAULT_SYSTEMS = ("automl", "flaml", "hgb", "lgbm")
