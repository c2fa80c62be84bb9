"""k-nearest neighbours on standardised features (skipped on large data: prediction is slow)."""

from __future__ import annotations

from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

from automl import BuildContext, Fidelity, ModelSpec, Task, hookimpl
from automl_plugins._common import bounded

_FIDELITY = Fidelity("sample_fraction", low=0.25, high=1.0)


def _space(trial, profile) -> dict:
    # k at most 100 and at most half the rows of the smallest sample the search fits on,
    # so that the small training samples of the lowest fidelity still hold more than k rows.
    k_max = bounded(profile.n_rows * _FIDELITY.low // 2, 1, 100)
    return {
        "n_neighbors": trial.suggest_int("n_neighbors", 1, k_max, log=True),
        "weights": trial.suggest_categorical("weights", ["uniform", "distance"]),
        "p": trial.suggest_categorical("p", [1, 2]),
    }


def _build(params, ctx: BuildContext):
    cls = KNeighborsClassifier if ctx.task.is_classification else KNeighborsRegressor
    return cls(n_jobs=ctx.n_jobs, **params)


KNN = ModelSpec(
    name="knn",
    tasks=frozenset(Task),
    search_space=_space,
    build=_build,
    default_params=(
        {"n_neighbors": 5, "weights": "uniform", "p": 2},
        {"n_neighbors": 10, "weights": "distance", "p": 2},
    ),
    fidelity=_FIDELITY,
    needs_scaling=True,
    max_rows=50_000,
    cost=0.3,
    description="k-nearest neighbours (Minkowski distance, uniform or distance weights).",
)


@hookimpl
def automl_register_models():
    return [KNN]
