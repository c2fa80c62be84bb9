"""RBF support vector machines (small data only: the kernel matrix is quadratic in rows).

``SVC(probability=True)`` is deprecated since scikit-learn 1.9; its replacement,
the one named in the deprecation, is ``CalibratedClassifierCV(SVC(), ensemble=False)``:
Platt scaling fitted on cross-validated decision values, one SVC fitted on all rows.
Regression standardises the target so that ``C`` and ``epsilon`` mean the same on
every data set.
"""

from __future__ import annotations

import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.compose import TransformedTargetRegressor
from sklearn.model_selection import StratifiedKFold
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC, SVR

from automl import BuildContext, Fidelity, ModelSpec, Task, hookimpl


class AdaptiveStratifiedKFold:
    """Stratified k-fold with k lowered to the smallest class size (2 at least), so that
    calibration works on the small subsamples of low fidelities and on rare classes."""

    def __init__(self, n_splits: int = 5, random_state: int | None = None):
        # Not stored as `n_splits`: CalibratedClassifierCV would require that many rows per class.
        self.max_splits = n_splits
        self.random_state = random_state

    def _folds(self, y) -> StratifiedKFold:
        smallest = int(np.unique(y, return_counts=True)[1].min())
        k = min(self.max_splits, max(2, smallest))
        return StratifiedKFold(k, shuffle=True, random_state=self.random_state)

    def split(self, X, y, groups=None):
        return self._folds(y).split(X, y)

    def get_n_splits(self, X=None, y=None, groups=None):
        return self.max_splits if y is None else self._folds(y).get_n_splits()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_splits={self.max_splits}, random_state={self.random_state})"


def _space(trial, profile) -> dict:
    params = {
        "C": trial.suggest_float("C", 1e-2, 1e3, log=True),
        "gamma_scale": trial.suggest_categorical("gamma_scale", [True, False]),
    }
    if not params["gamma_scale"]:  # else gamma="scale": 1 / (n_features * X.var())
        params["gamma"] = trial.suggest_float("gamma", 1e-4, 1.0, log=True)
    return params


def _build(params, ctx: BuildContext):
    kernel = {"C": params.get("C", 1.0), "gamma": params.get("gamma", "scale")}
    if ctx.task.is_classification:
        return CalibratedClassifierCV(
            SVC(**kernel), method="sigmoid", ensemble=False, cv=AdaptiveStratifiedKFold(5, ctx.random_state)
        )
    return TransformedTargetRegressor(regressor=SVR(**kernel), transformer=StandardScaler())


SVM = ModelSpec(
    name="svm",
    tasks=frozenset(Task),
    search_space=_space,
    build=_build,
    default_params=({"C": 1.0, "gamma_scale": True}, {"C": 10.0, "gamma_scale": True}),
    fidelity=Fidelity("sample_fraction", low=0.1, high=1.0),
    needs_scaling=True,
    max_rows=10_000,
    cost=2.0,
    description="RBF-kernel support vector machine (Platt-calibrated probabilities); small data only.",
)


@hookimpl
def automl_register_models():
    return [SVM]


@hookimpl
def automl_register_types():
    """The classes its fitted models hold besides scikit-learn's (for the model file)."""
    return [AdaptiveStratifiedKFold]
