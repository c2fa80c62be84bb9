"""Two scikit-learn models for automl: AdaBoost (every task) and Gaussian naive Bayes."""

from sklearn.ensemble import AdaBoostClassifier, AdaBoostRegressor
from sklearn.naive_bayes import GaussianNB
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from automl import Fidelity, ModelSpec, Task, hookimpl


def adaboost_space(trial, profile):
    """Define-by-run: suggest "learning_rate", the study records "adaboost__learning_rate"."""
    params = {
        "learning_rate": trial.suggest_float("learning_rate", 0.01, 2.0, log=True),
        "max_depth": trial.suggest_int("max_depth", 1, 5),
    }
    if not profile.n_classes:  # regression
        params["loss"] = trial.suggest_categorical("loss", ["linear", "square", "exponential"])
    return params


def build_adaboost(params, ctx):
    """``params`` holds n_estimators too (the fidelity: the core sets it at each rung)."""
    params = dict(params)
    depth = params.pop("max_depth", 3)
    if ctx.task.is_classification:
        return AdaBoostClassifier(DecisionTreeClassifier(max_depth=depth), random_state=ctx.random_state, **params)
    return AdaBoostRegressor(DecisionTreeRegressor(max_depth=depth), random_state=ctx.random_state, **params)


ADABOOST = ModelSpec(
    name="adaboost",
    tasks=frozenset(Task),
    search_space=adaboost_space,
    build=build_adaboost,
    default_params=({"learning_rate": 0.5, "max_depth": 3}, {"learning_rate": 1.0, "max_depth": 1}),
    fidelity=Fidelity("n_estimators", low=10, high=200, param="n_estimators"),
    max_rows=200_000,  # boosting rounds are sequential: too slow beyond
    cost=2.0,
    description="AdaBoost over shallow decision trees (SAMME for classes, AdaBoost.R2 for values).",
)

def naive_bayes_space(trial, profile):
    return {"var_smoothing": trial.suggest_float("var_smoothing", 1e-12, 1e-2, log=True)}


def build_naive_bayes(params, ctx):
    return GaussianNB(**params)


NAIVE_BAYES = ModelSpec(
    name="naive_bayes",
    tasks=frozenset({Task.BINARY, Task.MULTICLASS}),
    search_space=naive_bayes_space,
    build=build_naive_bayes,
    default_params=({"var_smoothing": 1e-9},),
    fidelity=Fidelity("sample_fraction", low=0.1, high=1.0),
    needs_scaling=True,  # var_smoothing is relative to the largest column variance
    cost=0.01,
    description="Gaussian naive Bayes: a very fast baseline for classes.",
)


@hookimpl
def automl_register_models():
    return [ADABOOST, NAIVE_BAYES]
