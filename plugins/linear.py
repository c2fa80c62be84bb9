"""Linear models: logistic regression (classification), ridge and elastic net (regression)."""

from __future__ import annotations

from sklearn.linear_model import ElasticNet, LogisticRegression, Ridge

from automl import BuildContext, Fidelity, ModelSpec, Task, hookimpl
from automl_plugins._common import with_resource

_LOGISTIC_FIDELITY = Fidelity("max_iter", low=20, high=1000, param="max_iter")
_ELASTIC_FIDELITY = Fidelity("max_iter", low=50, high=2000, param="max_iter")


def _logistic_space(trial, profile) -> dict:
    return {"C": trial.suggest_float("C", 1e-3, 1e2, log=True)}


def _build_logistic(params, ctx: BuildContext):
    # lbfgs: L2 penalty, multinomial loss for more than two classes.
    params = with_resource(params, _LOGISTIC_FIDELITY)
    return LogisticRegression(solver="lbfgs", random_state=ctx.random_state, **params)


def _ridge_space(trial, profile) -> dict:
    return {"alpha": trial.suggest_float("alpha", 1e-3, 1e3, log=True)}


def _build_ridge(params, ctx: BuildContext):
    return Ridge(**params)


def _elastic_space(trial, profile) -> dict:
    return {
        "alpha": trial.suggest_float("alpha", 1e-4, 10.0, log=True),
        "l1_ratio": trial.suggest_float("l1_ratio", 0.0, 1.0),
    }


def _build_elastic(params, ctx: BuildContext):
    return ElasticNet(random_state=ctx.random_state, **with_resource(params, _ELASTIC_FIDELITY))


LOGISTIC_REGRESSION = ModelSpec(
    name="logistic_regression",
    tasks=frozenset({Task.BINARY, Task.MULTICLASS}),
    search_space=_logistic_space,
    build=_build_logistic,
    default_params=({"C": 1.0}, {"C": 0.1}),
    fidelity=_LOGISTIC_FIDELITY,
    needs_scaling=True,
    cost=0.2,
    description="L2-regularised logistic regression (lbfgs) on standardised features.",
)

RIDGE = ModelSpec(
    name="ridge",
    tasks=frozenset({Task.REGRESSION}),
    search_space=_ridge_space,
    build=_build_ridge,
    default_params=({"alpha": 1.0}, {"alpha": 10.0}),
    fidelity=Fidelity("sample_fraction", low=0.1, high=1.0),
    needs_scaling=True,
    cost=0.05,
    description="Ridge regression (L2-penalised least squares) on standardised features.",
)

ELASTIC_NET = ModelSpec(
    name="elastic_net",
    tasks=frozenset({Task.REGRESSION}),
    search_space=_elastic_space,
    build=_build_elastic,
    default_params=({"alpha": 1.0, "l1_ratio": 0.5}, {"alpha": 0.01, "l1_ratio": 0.5}),
    fidelity=_ELASTIC_FIDELITY,
    needs_scaling=True,
    cost=0.1,
    description="Elastic net regression (mixed L1/L2 penalty, coordinate descent) on standardised features.",
)


@hookimpl
def automl_register_models():
    return [LOGISTIC_REGRESSION, RIDGE, ELASTIC_NET]
