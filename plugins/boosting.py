"""Gradient-boosted trees: scikit-learn HistGradientBoosting, LightGBM and XGBoost.

All three split on missing values and on pandas ``category`` columns natively. The
number of boosting rounds is the fidelity, with early stopping off so that it is the
true resource. From one rung to the next, a model boosts on from its fitted rounds
(HistGradientBoosting's ``warm_start``; LightGBM's ``init_model`` and XGBoost's
``xgb_model`` through the spec's ``resume``). XGBoost stops adding rounds at
``BuildContext.time_limit`` (a training callback), and so does LightGBM when it
continues (its callbacks go through ``fit``, which the core calls for a first rung);
HistGradientBoosting has no callbacks and is bounded by its rungs. On large data, where
the rungs are row subsamples, the three stop early on the validation rows
(the spec's ``early_stop``: ``EARLY_STOPPING_ROUNDS`` rounds without a better validation
loss) and keep the best round. LightGBM and XGBoost
are imported inside ``build``: this module loads without them, and the core skips a spec
whose ``requires`` is not installed. In a model file, LightGBM and XGBoost models are
stored in their libraries' own formats (``_booster_files``).
"""

from __future__ import annotations

import inspect
import time

from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor

from automl import BuildContext, Fidelity, ModelSpec, Serializer, Task, hookimpl
from automl_plugins import _booster_files
from automl_plugins._common import bounded, by_table_size, with_resource

_HGB_FIDELITY = Fidelity("max_iter", low=16, high=500, param="max_iter", early_stopping=True)
_LGBM_FIDELITY = Fidelity("n_estimators", low=16, high=500, param="n_estimators", early_stopping=True)
_XGB_FIDELITY = Fidelity("n_estimators", low=16, high=500, param="n_estimators", early_stopping=True)
#: Rounds without a better validation loss after which LightGBM and XGBoost stop (``early_stop``).
EARLY_STOPPING_ROUNDS = 30
#: The three train one tree per class each round (``ModelSpec.cost_per_class``): LightGBM's
#: defaults on letter's 12,000 rows took 0.74 s on 2 classes, 1.9 s on 4 and 10.9 s on 26,
#: about 0.6 of a two-class fit more per class.
_PER_CLASS = 0.6


def _max_leaves(profile) -> int:
    """Upper bound for the number of leaves: 256, or fewer on small data."""
    return bounded(profile.n_rows // 2, 4, 256)


def _min_leaf_rows(profile) -> int:
    """Upper bound for the rows per leaf: 5% of the rows, between 20 and 200."""
    return bounded(profile.n_rows // 20, 20, 200)


# ------------------------------------------------------------ HistGradientBoosting


def _hgb_space(trial, profile) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_leaf_nodes": trial.suggest_int("max_leaf_nodes", 4, _max_leaves(profile), log=True),
        "min_samples_leaf": trial.suggest_int("min_samples_leaf", 1, _min_leaf_rows(profile), log=True),
        "l2_regularization": trial.suggest_float("l2_regularization", 1e-3, 10.0, log=True),
    }


def _build_hgb(params, ctx: BuildContext):
    cls = HistGradientBoostingClassifier if ctx.task.is_classification else HistGradientBoostingRegressor
    return cls(
        early_stopping=False,
        categorical_features="from_dtype",
        random_state=ctx.random_state,
        **with_resource(params, _HGB_FIDELITY),
    )


def _early_stop_hgb(model, X, y, X_valid, y_valid, ctx: BuildContext):
    """As ``_early_stop_lgbm``: scikit-learn's own early stopping, on the given validation
    rows (``X_val``, scikit-learn >= 1.7; before, on a 10% split of the training rows)."""
    model.set_params(early_stopping=True, n_iter_no_change=EARLY_STOPPING_ROUNDS, validation_fraction=0.1)
    if "X_val" in inspect.signature(model.fit).parameters:
        model.fit(X, y, X_val=X_valid, y_val=y_valid)
    else:
        model.fit(X, y)
    return model.set_params(max_iter=max(int(model.n_iter_), 1), early_stopping=False)


# The portfolios: benchmarks/portfolio.py's greedy order over 5 candidates on the shared
# datasets' training rows (benchmarks/results/portfolio_hist_gradient_boosting.md), per table
# size (``_common.LARGE_TABLE_ROWS``). Small tables: small trees (the best alone there), then the
# space's largest trees, then regularised small trees. Large tables: rate 0.05 with 63 leaves
# (automl's wave-1 second default), then scikit-learn's own defaults (its L2 of 0 as the
# space's lowest, 0.001).
_HGB_SMALL = (
    {"learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 20, "l2_regularization": 1.0},
    {"learning_rate": 0.08, "max_leaf_nodes": 255, "min_samples_leaf": 5, "l2_regularization": 2.0},
    {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 30, "l2_regularization": 5.0},
)
_HGB_LARGE = (
    {"learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 10, "l2_regularization": 1.0},
    {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 0.001},
)

HIST_GRADIENT_BOOSTING = ModelSpec(
    name="hist_gradient_boosting",
    tasks=frozenset(Task),
    search_space=_hgb_space,
    build=_build_hgb,
    default_params=_HGB_SMALL,
    portfolio=by_table_size(_HGB_SMALL, _HGB_LARGE),
    fidelity=_HGB_FIDELITY,
    handles_missing=True,
    handles_categorical=True,
    warm_start=True,
    early_stop=_early_stop_hgb,
    cost=2.0,  # measured: 1.8-2.8x LightGBM's defaults on 7 shared datasets (more with many classes)
    cost_per_class=_PER_CLASS,
    description="scikit-learn histogram gradient boosting with native categorical and missing-value support.",
)

# ------------------------------------------------------------------------ LightGBM


def _lgbm_space(trial, profile) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 4, _max_leaves(profile), log=True),
        "min_child_samples": trial.suggest_int("min_child_samples", 2, _min_leaf_rows(profile), log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
    } | _linear_leaves(trial, profile)


def _linear_leaves(trial, profile) -> dict:
    """Regression: a linear model in each leaf, or not (``_LGBM_LINEAR``); its ridge penalty
    from 1 up (none lets the leaves' fits explode on small tables)."""
    if profile.n_classes or not trial.suggest_categorical("linear_tree", [False, True]):
        return {}
    return {"linear_tree": True, "linear_lambda": trial.suggest_float("linear_lambda", 1.0, 100.0, log=True)}


def _build_lgbm(params, ctx: BuildContext):
    import lightgbm

    cls = lightgbm.LGBMClassifier if ctx.task.is_classification else lightgbm.LGBMRegressor
    # subsample_freq=1: bag rows every round, so that `subsample` takes effect.
    return cls(subsample_freq=1, random_state=ctx.random_state, n_jobs=ctx.n_jobs, verbose=-1,
               **with_resource(params, _LGBM_FIDELITY))


class _LGBMStopAtTimeLimit:
    """LightGBM callback: stop adding rounds ``seconds`` after it was made."""

    order = 40  # after LightGBM's own callbacks

    def __init__(self, seconds: float):
        self.deadline = time.perf_counter() + seconds

    def __call__(self, env) -> None:
        if time.perf_counter() >= self.deadline:
            from lightgbm.callback import EarlyStopException

            raise EarlyStopException(env.iteration, env.evaluation_result_list or [])


def _resume_lgbm(model, X, y, resource: int, ctx: BuildContext):
    """Boost on from the fitted rounds (``init_model``): a new estimator trains the missing
    rounds, its booster holds them all. Its seed moves on, so bagging draws new rows."""
    done = model.booster_.current_iteration()
    more = clone(model).set_params(n_estimators=max(resource - done, 1), random_state=ctx.random_state + done,
                                   n_jobs=ctx.n_jobs)
    callbacks = None if ctx.time_limit is None else [_LGBMStopAtTimeLimit(ctx.time_limit)]
    return more.fit(X, y, init_model=model.booster_, callbacks=callbacks)


def _early_stop_lgbm(model, X, y, X_valid, y_valid, ctx: BuildContext):
    """Fit, stopping ``EARLY_STOPPING_ROUNDS`` rounds after the best validation loss (and at
    ``ctx.time_limit``); ``n_estimators`` becomes the best round, which ``predict`` uses."""
    import lightgbm

    callbacks = [lightgbm.early_stopping(EARLY_STOPPING_ROUNDS, first_metric_only=True, verbose=False)]
    if ctx.time_limit is not None:
        callbacks.append(_LGBMStopAtTimeLimit(ctx.time_limit))
    if "eval_X" in inspect.signature(model.fit).parameters:  # LightGBM >= 4.7; eval_set is deprecated there
        model.fit(X, y, eval_X=(X_valid,), eval_y=(y_valid,), callbacks=callbacks)
    else:
        model.fit(X, y, eval_set=[(X_valid, y_valid)], callbacks=callbacks)
    return model.set_params(n_estimators=max(int(model.best_iteration_ or model.booster_.current_iteration()), 1))


# The portfolios: benchmarks/portfolio.py's greedy order over 8 candidates on the shared
# datasets' training rows (benchmarks/results/portfolio_lightgbm.md), per table size
# (``_common.LARGE_TABLE_ROWS``). Small tables: small trees at the library's rate (the best
# alone there; FLAML also starts from small trees), then the space's largest trees, then
# regularised small trees. Large tables: automl's wave-1 second default (rate 0.05, 63 leaves),
# then LightGBM's own defaults (its L2 of 0 as the space's lowest, 0.001).
_LGBM_SMALL = (
    {"learning_rate": 0.1, "num_leaves": 8, "min_child_samples": 20,
     "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0},
    {"learning_rate": 0.08, "num_leaves": 255, "min_child_samples": 5,
     "subsample": 0.8, "colsample_bytree": 0.7, "reg_lambda": 2.0},
    {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 30,
     "subsample": 0.8, "colsample_bytree": 0.6, "reg_lambda": 5.0},
)
_LGBM_LARGE = (
    {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 10,
     "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0},
    {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20,
     "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 0.001},
)
#: Regression's last default: LightGBM's trees with a linear model in each leaf
#: (``linear_tree``; ``linear_lambda`` 1: with 0 its leaves' fits explode on ames_housing,
#: holdout R² -56). Where the target is close to linear in some columns, trees alone need
#: thousands of rounds to follow it: nycflights' arrival delay (about the departure delay
#: plus a flight's time) 0.902 -> 0.965 at 500 rounds, FLAML 0.922.
_LGBM_LINEAR = {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "subsample": 0.8,
                "colsample_bytree": 0.8, "reg_lambda": 1.0, "linear_tree": True, "linear_lambda": 1.0}
_LGBM_BY_SIZE = by_table_size(_LGBM_SMALL, _LGBM_LARGE)


def _lgbm_portfolio(profile) -> tuple:
    return _LGBM_BY_SIZE(profile) + ((_LGBM_LINEAR,) if profile.n_classes == 0 else ())


LIGHTGBM = ModelSpec(
    name="lightgbm",
    tasks=frozenset(Task),
    search_space=_lgbm_space,
    build=_build_lgbm,
    default_params=_LGBM_SMALL,
    portfolio=_lgbm_portfolio,
    fidelity=_LGBM_FIDELITY,
    handles_missing=True,
    handles_categorical=True,
    requires=("lightgbm",),
    warm_start=True,
    resume=_resume_lgbm,
    early_stop=_early_stop_lgbm,
    cost=1.0,
    cost_per_class=_PER_CLASS,
    target_encoding=True,
    description="LightGBM leaf-wise gradient boosting with native categorical and missing-value support.",
)

# ------------------------------------------------------------------------- XGBoost


def _xgb_space(trial, profile) -> dict:
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 0.3, log=True),
        "max_depth": trial.suggest_int("max_depth", 2, 12),
        "min_child_weight": trial.suggest_float("min_child_weight", 0.1, 20.0, log=True),
        "subsample": trial.suggest_float("subsample", 0.5, 1.0),
        "colsample_bytree": trial.suggest_float("colsample_bytree", 0.4, 1.0),
        "reg_lambda": trial.suggest_float("reg_lambda", 1e-3, 10.0, log=True),
    }


def _build_xgb(params, ctx: BuildContext):
    import xgboost

    cls = xgboost.XGBClassifier if ctx.task.is_classification else xgboost.XGBRegressor
    return cls(tree_method="hist", enable_categorical=True, max_cat_to_onehot=4, random_state=ctx.random_state,
               n_jobs=ctx.n_jobs, verbosity=0, callbacks=_xgb_callbacks(ctx), **with_resource(params, _XGB_FIDELITY))


def _xgb_callbacks(ctx: BuildContext) -> list | None:
    """In a search fit (``ctx.time_limit``), stop adding rounds when the budget runs out."""
    if ctx.time_limit is None:
        return None
    from automl_plugins._xgb_time import StopAtTimeLimit

    return [StopAtTimeLimit(ctx.time_limit)]


def _resume_xgb(model, X, y, resource: int, ctx: BuildContext):
    """Boost on from the fitted rounds (``xgb_model``), as ``_resume_lgbm``."""
    booster = model.get_booster()
    done = booster.num_boosted_rounds()
    more = clone(model).set_params(n_estimators=max(resource - done, 1), random_state=ctx.random_state + done,
                                   n_jobs=ctx.n_jobs, callbacks=_xgb_callbacks(ctx))
    return more.fit(X, y, xgb_model=booster)


def _early_stop_xgb(model, X, y, X_valid, y_valid, ctx: BuildContext):
    """As ``_early_stop_lgbm``: XGBoost's ``early_stopping_rounds``; ``predict`` uses the best round."""
    model.set_params(early_stopping_rounds=EARLY_STOPPING_ROUNDS)
    model.fit(X, y, eval_set=[(X_valid, y_valid)], verbose=False)
    best = getattr(model, "best_iteration", None)
    rounds = model.get_booster().num_boosted_rounds() if best is None else best + 1
    return model.set_params(n_estimators=max(int(rounds), 1), early_stopping_rounds=None)


# The portfolios (benchmarks/results/portfolio_xgboost.md, as LightGBM's, 6 candidates). Small
# tables: depth 8 at rate 0.05 (automl's wave-1 second default, the best alone there), then
# regularised depth-4 trees, then depth 3. Large tables: AutoGluon's XGBoost default (depth 6,
# rate 0.1), then depth 8 at rate 0.05. XGBoost's own defaults (rate 0.3) came last but one.
_XGB_SMALL = (
    {"learning_rate": 0.05, "max_depth": 8, "min_child_weight": 1.0,
     "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0},
    {"learning_rate": 0.05, "max_depth": 4, "min_child_weight": 5.0,
     "subsample": 0.8, "colsample_bytree": 0.6, "reg_lambda": 5.0},
    {"learning_rate": 0.1, "max_depth": 3, "min_child_weight": 1.0,
     "subsample": 0.8, "colsample_bytree": 0.8, "reg_lambda": 1.0},
)
_XGB_LARGE = (
    {"learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0,
     "subsample": 1.0, "colsample_bytree": 1.0, "reg_lambda": 1.0},
    _XGB_SMALL[0],
)

XGBOOST = ModelSpec(
    name="xgboost",
    tasks=frozenset(Task),
    search_space=_xgb_space,
    build=_build_xgb,
    default_params=_XGB_SMALL,
    portfolio=by_table_size(_XGB_SMALL, _XGB_LARGE),
    fidelity=_XGB_FIDELITY,
    handles_missing=True,
    handles_categorical=True,
    requires=("xgboost",),
    warm_start=True,
    resume=_resume_xgb,
    early_stop=_early_stop_xgb,
    cost=1.5,
    cost_per_class=_PER_CLASS,
    target_encoding=True,
    description="XGBoost depth-wise histogram gradient boosting with native categorical and missing-value support.",
)


@hookimpl
def automl_register_models():
    return [HIST_GRADIENT_BOOSTING, LIGHTGBM, XGBOOST]


@hookimpl
def automl_register_types():
    """HistGradientBoosting is scikit-learn's (trusted); the other two have serializers."""
    return [
        Serializer(_booster_files.LIGHTGBM_TYPES, _booster_files.dump_lightgbm, _booster_files.load_lightgbm,
                   "LightGBM: model text + the wrapper's attributes as JSON"),
        Serializer(_booster_files.XGBOOST_TYPES, _booster_files.dump_xgboost, _booster_files.load_xgboost,
                   "XGBoost: JSON model + the wrapper's attributes as JSON"),
    ]
