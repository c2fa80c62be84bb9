"""A single CART decision tree (scikit-learn trees split on missing values natively)."""

from __future__ import annotations

from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from automl import BuildContext, Fidelity, ModelSpec, Task, hookimpl
from automl_plugins._common import bounded


def _space(trial, profile) -> dict:
    params = {
        "max_depth": trial.suggest_int("max_depth", 2, 32, log=True),
        # Larger leaves only make sense with enough rows: up to 1% of them (between 8 and 100).
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, bounded(profile.n_rows // 100, 8, 100), log=True),
    }
    if profile.n_classes:  # classification
        params["criterion"] = trial.suggest_categorical("criterion", ["gini", "entropy"])
    return params


def _build(params, ctx: BuildContext):
    if ctx.task.is_classification:
        return DecisionTreeClassifier(random_state=ctx.random_state, **params)
    params = {k: v for k, v in params.items() if k != "criterion"}
    return DecisionTreeRegressor(random_state=ctx.random_state, **params)


DECISION_TREE = ModelSpec(
    name="decision_tree",
    tasks=frozenset(Task),
    search_space=_space,
    build=_build,
    default_params=({"max_depth": None, "min_samples_leaf": 1}, {"max_depth": 8, "min_samples_leaf": 5}),
    fidelity=Fidelity("sample_fraction", low=0.1, high=1.0),
    handles_missing=True,
    cost=0.05,
    description="Single CART decision tree; fast, interpretable baseline.",
)


@hookimpl
def automl_register_models():
    return [DECISION_TREE]
