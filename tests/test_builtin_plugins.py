"""The built-in model plugins: every spec, every declared task, defaults and sampled configs."""

from __future__ import annotations

import importlib.util
import pickle
import sys

import numpy as np
import optuna
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import Pipeline
from sklearn.utils.estimator_checks import check_estimator
from threadpoolctl import threadpool_limits

from automl import BuildContext, ModelSpec, Task
from automl.preprocessing import build_preprocessor
from automl.profile import profile_frame
from automl_plugins import boosting, forest, gmm, knn, linear, svm, tree
from automl_plugins.gmm import GaussianMixtureClassifier

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # Deprecated scikit-learn usage in a plugin fails the tests.
    pytest.mark.filterwarnings("error::FutureWarning:sklearn.*"),
]
optuna.logging.set_verbosity(optuna.logging.WARNING)

MODULES = (linear, tree, forest, boosting, svm, knn, gmm)
SPECS = [spec for module in MODULES for spec in module.automl_register_models()]
CASES = [
    pytest.param(spec, task, id=f"{spec.name}-{task.value}")
    for spec in SPECS
    for task in sorted(spec.tasks, key=lambda t: t.value)
]
N_ROWS = 200


@pytest.fixture(autouse=True)
def one_openmp_thread():
    """Fits here are tiny: one OpenMP/BLAS thread each, as ctx.n_jobs=1 asks. (HistGradientBoosting
    takes no n_jobs; with spare threads on a busy machine its OpenMP barriers spin for minutes.)"""
    with threadpool_limits(limits=1):
        yield


def make_data(task: Task) -> tuple[pd.DataFrame, pd.Series]:
    """Five numeric columns (NaN in one), one string categorical column (with NaN)."""
    rng = np.random.default_rng(0)
    if task is Task.REGRESSION:
        X, y = make_regression(N_ROWS, 5, n_informative=4, noise=5.0, random_state=0)
    else:
        n_classes = 2 if task is Task.BINARY else 3
        X, y = make_classification(N_ROWS, 5, n_informative=4, n_redundant=0, n_classes=n_classes, random_state=0)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["color"] = rng.choice(["red", "green", "blue"], N_ROWS)
    frame.loc[rng.choice(N_ROWS, 12, replace=False), "x0"] = np.nan
    frame.loc[rng.choice(N_ROWS, 6, replace=False), "color"] = None
    return frame, pd.Series(y)


def n_classes(task: Task, y: pd.Series) -> int:
    return 0 if task is Task.REGRESSION else int(y.nunique())


def context(task: Task, y: pd.Series) -> BuildContext:
    return BuildContext(task=task, random_state=0, n_jobs=1, n_classes=n_classes(task, y))


def at_low_fidelity(spec: ModelSpec, params) -> dict:
    """``params`` plus the fidelity parameter at its lowest value, as the core adds it."""
    params = dict(params)
    if spec.fidelity is not None and spec.fidelity.param:
        params[spec.fidelity.param] = int(spec.fidelity.low)
    return params


def fit_pipeline(spec: ModelSpec, task: Task, params, X, y) -> Pipeline:
    profile = profile_frame(X, n_classes(task, y))
    model = spec.build(at_low_fidelity(spec, params), context(task, y))
    pipe = Pipeline([("prep", build_preprocessor(profile, spec, task)), ("model", model)])
    return pipe.fit(X, y)


def check_predictions(pipe: Pipeline, task: Task, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
    pred = np.asarray(pipe.predict(X))
    assert pred.shape == (len(X),)
    if task is Task.REGRESSION:
        assert np.isfinite(pred).all()
        return pred
    assert set(np.unique(pred)) <= set(np.unique(y))
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), y.nunique())
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-6)
    assert (proba >= 0).all()
    return proba


def sample_params(spec: ModelSpec, profile, n: int = 1) -> list[tuple[dict, dict]]:
    """``n`` (returned params, trial.params) pairs from a seeded random-sampler study."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    out = []
    for _ in range(n):
        trial = study.ask()
        out.append((dict(spec.search_space(trial, profile)), dict(trial.params)))
    return out


def test_registered_specs():
    names = [spec.name for spec in SPECS]
    assert sorted(names) == sorted(
        ["logistic_regression", "ridge", "elastic_net", "decision_tree", "random_forest", "extra_trees",
         "hist_gradient_boosting", "lightgbm", "xgboost", "svm", "knn", "gaussian_mixture"]
    )
    for spec in SPECS:
        assert isinstance(spec, ModelSpec)
        assert 1 <= len(spec.default_params) <= 3
        assert spec.description and spec.fidelity is not None and spec.cost > 0 and not spec.gpu


def check_default_configs(spec: ModelSpec, task: Task) -> None:
    """Every default config fits, beats a constant on its training data, clones and
    survives a pickle round trip with identical predictions."""
    X, y = make_data(task)
    for params in spec.default_params:
        pipe = fit_pipeline(spec, task, params, X, y)
        out = check_predictions(pipe, task, X, y)
        if task is Task.REGRESSION:  # better than the mean on its own training data
            assert pipe.score(X, y) > 0
        else:  # better than the majority class
            assert pipe.score(X, y) > y.value_counts(normalize=True).max()
        model = pipe.named_steps["model"]
        assert clone(model).get_params().keys() == model.get_params().keys()
        restored = pickle.loads(pickle.dumps(pipe))
        again = restored.predict(X) if task is Task.REGRESSION else restored.predict_proba(X)
        np.testing.assert_array_equal(again, out)


@pytest.mark.parametrize("spec, task", CASES)
def test_default_configs_fit_predict_clone_pickle(spec, task):
    check_default_configs(spec, task)


@pytest.mark.parametrize("spec, task", CASES)
def test_search_space_is_deterministic_and_buildable(spec, task):
    X, y = make_data(task)
    profile = profile_frame(X, n_classes(task, y))
    first, second = sample_params(spec, profile, n=4), sample_params(spec, profile, n=4)
    assert first == second
    for params, suggested in first:
        assert params == suggested  # the search space returns exactly what it suggested
        if spec.fidelity.param:
            assert spec.fidelity.param not in suggested
    # Fit sampled configurations on the smallest training sample the fidelity allows.
    n_fit = N_ROWS if spec.fidelity.param else int(np.ceil(spec.fidelity.low * N_ROWS))
    rows = np.random.default_rng(1).permutation(N_ROWS)[:n_fit]
    Xs, ys = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    for params, _ in first[:2]:
        check_predictions(fit_pipeline(spec, task, params, Xs, ys), task, Xs, ys)


@pytest.mark.parametrize("spec, task", [c for c in CASES if c.values[0].handles_missing])
def test_handles_missing_without_imputation(spec, task):
    X, y = make_data(task)
    values = X.drop(columns="color").to_numpy(dtype=float)
    assert np.isnan(values).any()
    model = spec.build(at_low_fidelity(spec, spec.default_params[0]), context(task, y))
    pred = model.fit(values, y.to_numpy()).predict(values)
    assert np.isfinite(pred).all()


@pytest.mark.parametrize("spec", [s for s in SPECS if s.fidelity.param], ids=lambda s: s.name)
def test_fidelity_param_is_an_estimator_param(spec):
    task = min(spec.tasks, key=lambda t: t.value)
    ctx = BuildContext(task=task, n_classes=0 if task is Task.REGRESSION else 2)
    name = spec.fidelity.param
    assert clone(spec.build(at_low_fidelity(spec, spec.default_params[0]), ctx)).get_params()[name] == spec.fidelity.low
    # Without it, the model is built at full fidelity.
    assert spec.build(spec.default_params[0], ctx).get_params()[name] == spec.fidelity.high


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array-API check
def test_gaussian_mixture_classifier_passes_check_estimator():
    check_estimator(GaussianMixtureClassifier())


def test_gaussian_mixture_caps_components_by_class_rows():
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.array(["a"] * 27 + ["b"] * 3)
    model = GaussianMixtureClassifier(n_components=5, random_state=0).fit(X, y)
    assert [m.n_components for m in model.mixtures_] == [5, 3]
    np.testing.assert_allclose(model.class_log_prior_, np.log([0.9, 0.1]))
    assert model.predict_proba(X).shape == (30, 2)


def test_svm_probabilities_with_a_rare_class():
    X = np.random.default_rng(0).normal(size=(40, 3))
    y = np.array([0] * 20 + [1] * 18 + [2] * 2)  # fewer rows than the 5 calibration folds
    model = svm.SVM.build(svm.SVM.default_params[0], BuildContext(task=Task.MULTICLASS, n_classes=3))
    np.testing.assert_allclose(model.fit(X, y).predict_proba(X).sum(axis=1), 1.0)


def test_boosting_module_imports_without_lightgbm_and_xgboost(monkeypatch):
    monkeypatch.setitem(sys.modules, "lightgbm", None)  # `import lightgbm` now raises ImportError
    monkeypatch.setitem(sys.modules, "xgboost", None)
    source = importlib.util.spec_from_file_location("boosting_without_libs", boosting.__file__)
    module = importlib.util.module_from_spec(source)
    source.loader.exec_module(module)
    specs = {spec.name: spec for spec in module.automl_register_models()}
    assert specs["lightgbm"].requires == ("lightgbm",) and specs["xgboost"].requires == ("xgboost",)
    with pytest.raises(ImportError):
        specs["lightgbm"].build(specs["lightgbm"].default_params[0], BuildContext(task=Task.BINARY))
