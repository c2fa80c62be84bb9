"""The built-in model plugins: the public contract suite over every one, plus their own details."""

from __future__ import annotations

import importlib.util
import sys
from importlib import metadata

import numpy as np
import pytest
from sklearn.utils.estimator_checks import check_estimator

from automl import BuildContext, ModelSpec, Task
from automl.testing import PluginContract, at_low_fidelity, make_data, sample_params
from automl.testing.data import profile
from automl_plugins import boosting, svm
from automl_plugins.gmm import GaussianMixtureClassifier

pytestmark = [
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # Deprecated scikit-learn usage in a plugin fails the tests.
    pytest.mark.filterwarnings("error::FutureWarning:sklearn.*"),
]

#: Every built-in plugin: the entry points of this distribution (a new one is covered at once).
BUILTIN = sorted(
    (ep for ep in metadata.entry_points(group="automl") if ep.dist is not None and ep.dist.name == "automl"),
    key=lambda ep: ep.name,
)
MODULES = [ep.load() for ep in BUILTIN]
SPECS = [spec for module in MODULES for spec in module.automl_register_models()]


class TestBuiltinPluginsContract(PluginContract):
    """The same contract suite a third-party plugin runs (``automl.testing``)."""

    plugins = MODULES


def test_registered_specs():
    names = [spec.name for spec in SPECS]
    assert sorted(names) == sorted(
        ["logistic_regression", "ridge", "elastic_net", "decision_tree", "random_forest", "extra_trees",
         "hist_gradient_boosting", "lightgbm", "xgboost", "svm", "knn", "gaussian_mixture", "mlp", "catboost"]
    )
    for spec in SPECS:
        assert isinstance(spec, ModelSpec)
        assert 1 <= len(spec.default_params) <= 3
        assert spec.description and spec.fidelity is not None and spec.cost > 0 and spec.gpu == (spec.name == "mlp")


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_search_spaces_return_what_they_suggest(spec):
    """A built-in convention (not part of the contract): the parameters a space returns
    are exactly those it suggested, so the leaderboard shows what the sampler drew."""
    task = min(spec.tasks, key=lambda t: t.value)
    X, y = make_data(task)
    for params, suggested in sample_params(spec, profile(X, task, y)):
        assert {f"{spec.name}__{k}": v for k, v in params.items()} == suggested


@pytest.mark.parametrize("spec", [s for s in SPECS if s.name in ("lightgbm", "xgboost", "hist_gradient_boosting")],
                         ids=lambda s: s.name)
def test_the_boosters_portfolio_entries_are_points_of_their_search_space(spec):
    """The defaults come from ``benchmarks/portfolio.py``, whose candidates stay inside the
    family's space (on data large enough for its data-dependent bounds)."""
    import optuna
    import pandas as pd

    from automl.data.profile import profile_frame
    from automl.trial import NamespacedTrial

    rng = np.random.default_rng(0)
    small, large = (profile_frame(pd.DataFrame({"a": rng.normal(size=n)}), 2) for n in (5_000, 20_000))
    assert spec.defaults(small) != spec.defaults(large), "one list for small tables, one for large ones"
    for table in (small, large):
        trial = optuna.create_study().ask()
        spec.search_space(NamespacedTrial(trial, spec.name), table)
        space = {k.split("__", 1)[1]: d for k, d in trial.distributions.items()}
        for params in spec.defaults(table):
            assert set(params) == set(space), params
            for key, value in params.items():
                assert space[key]._contains(space[key].to_internal_repr(value)), (key, value, space[key])


@pytest.mark.parametrize("spec", [s for s in SPECS if s.fidelity.param], ids=lambda s: s.name)
def test_without_the_fidelity_param_a_model_is_built_at_full_fidelity(spec):
    """A built-in convention (the core always sets the fidelity parameter)."""
    task = min(spec.tasks, key=lambda t: t.value)
    ctx = BuildContext(task=task, n_classes=0 if task is Task.REGRESSION else 2)
    name = spec.fidelity.param
    assert spec.build(at_low_fidelity(spec, spec.default_params[0]), ctx).get_params()[name] == spec.fidelity.low
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


def test_a_forest_grows_its_leaves_only_when_its_trees_would_not_fit_the_memory_cap():
    from automl_plugins import forest

    small = BuildContext(task=Task.MULTICLASS, n_classes=7, n_rows=3_500)  # wine_quality_white's training rows
    large = BuildContext(task=Task.REGRESSION, n_rows=40_000)  # diamonds-sized: 0.85-1.4 GB fully grown
    params = dict(forest.EXTRA_TREES.default_params[0])
    assert forest.EXTRA_TREES.build(params, small).get_params()["min_samples_leaf"] == params["min_samples_leaf"]
    leaf = forest.EXTRA_TREES.build(params, large).get_params()["min_samples_leaf"]
    assert leaf > params["min_samples_leaf"]
    nodes = forest._FIDELITY.high * 1.75 * 40_000 / leaf  # fully grown: ~1.75 nodes a row, fewer with larger leaves
    assert nodes * (forest._NODE_BYTES + 8) <= forest.FOREST_BYTES
