"""Bagged tree ensembles: random forest and extremely randomised trees.

The number of trees is the fidelity; both estimators can add trees to a fitted
forest (``warm_start``). scikit-learn >= 1.6 forests split on missing values.
"""

from __future__ import annotations

import math

from sklearn.ensemble import (
    ExtraTreesClassifier,
    ExtraTreesRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)

from automl import BuildContext, Fidelity, ModelSpec, Task, hookimpl
from automl_plugins._common import bounded, with_resource

_FIDELITY = Fidelity("n_estimators", low=8, high=300, param="n_estimators")


def _common_space(trial, profile) -> dict:
    params = {
        "max_features": trial.suggest_float("max_features", 0.1, 1.0),
        # Up to ~0.5% of the rows per leaf (at least 4, at most 64): deep trees are the norm.
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, bounded(profile.n_rows // 200, 4, 64), log=True),
    }
    if profile.n_classes:  # classification
        params["criterion"] = trial.suggest_categorical("criterion", ["gini", "entropy"])
    return params


def _extra_trees_space(trial, profile) -> dict:
    return {**_common_space(trial, profile), "bootstrap": trial.suggest_categorical("bootstrap", [False, True])}


#: Bytes a fitted forest (at full resource) may take: a fully grown regression forest of
#: 300 trees on 40,000 rows takes 0.85 GB (random forest) to 1.4 GB (extra trees), most of
#: a fit's peak memory. Above it, leaves are made larger (``min_samples_leaf``) until the
#: estimate fits; below it (small data) the model is unchanged. 256 MB, not 96: at 96 MB the
#: cap also grew the leaves of the fully grown extra trees that win on wine_quality_white
#: and phoneme (~4,000 rows; min_samples_leaf 2-3 instead of 1), and their holdout scores
#: fell (wine log loss 0.750 to 0.837, phoneme AUC 0.970 to 0.963, 60 s, wave2_60s.md);
#: at 256 MB extra trees stay fully grown up to ~7,000 rows (regression; ~4,000 with 7 classes).
FOREST_BYTES = 256 << 20
#: Bytes per node of a fitted tree: the node struct (64) plus its value (8 per class, or 8).
_NODE_BYTES = 64


def min_leaf_for_memory(params: dict, ctx: BuildContext, nodes_per_row: float) -> int:
    """The smallest ``min_samples_leaf`` (at least the one asked for) whose forest of
    ``_FIDELITY.high`` trees on ``ctx.n_rows`` rows is estimated within ``FOREST_BYTES``
    (``nodes_per_row``: nodes of a fully grown tree per training row, measured on diamonds:
    1.1 for a random forest, 1.75 for extra trees)."""
    asked = params.get("min_samples_leaf", 1)
    if not ctx.n_rows or not isinstance(asked, int):
        return asked
    per_node = _NODE_BYTES + 8 * max(ctx.n_classes, 1)
    needed = _FIDELITY.high * nodes_per_row * ctx.n_rows * per_node / FOREST_BYTES
    return max(asked, int(math.ceil(needed)))


def _builder(classifier, regressor, nodes_per_row: float):
    def build(params, ctx: BuildContext):
        params = with_resource(params, _FIDELITY)
        params["min_samples_leaf"] = min_leaf_for_memory(params, ctx, nodes_per_row)
        if ctx.task.is_classification:
            return classifier(n_jobs=ctx.n_jobs, random_state=ctx.random_state, **params)
        params.pop("criterion", None)
        return regressor(n_jobs=ctx.n_jobs, random_state=ctx.random_state, **params)

    return build


# Defaults: the library's (max_features: sqrt of the columns for classification, all of
# them for regression) and half the columns per split (with slightly larger leaves for RF).
RANDOM_FOREST = ModelSpec(
    name="random_forest",
    tasks=frozenset(Task),
    search_space=_common_space,
    build=_builder(RandomForestClassifier, RandomForestRegressor, 1.2),
    default_params=({"min_samples_leaf": 1}, {"max_features": 0.5, "min_samples_leaf": 2}),
    fidelity=_FIDELITY,
    handles_missing=True,
    warm_start=True,
    cost=1.5,
    description="Random forest: bootstrapped deep CART trees with random feature subsets.",
)

EXTRA_TREES = ModelSpec(
    name="extra_trees",
    tasks=frozenset(Task),
    search_space=_extra_trees_space,
    build=_builder(ExtraTreesClassifier, ExtraTreesRegressor, 1.8),
    default_params=(
        {"min_samples_leaf": 1, "bootstrap": False},
        {"max_features": 0.5, "min_samples_leaf": 1, "bootstrap": False},
    ),
    fidelity=_FIDELITY,
    handles_missing=True,
    warm_start=True,
    cost=1.0,
    description="Extremely randomised trees: random split thresholds, lower variance than a random forest.",
)


@hookimpl
def automl_register_models():
    return [RANDOM_FOREST, EXTRA_TREES]
