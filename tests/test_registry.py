import types
from importlib import metadata

import pytest

from automl import ModelSpec, Task, hookimpl
from automl.exceptions import PluginError
from automl.registry import DISABLE_ENV, discover, make_plugin_manager, register_plugin

BUILTIN_PLUGINS = {"linear", "tree", "forest", "boosting", "svm", "knn", "gmm"}
BUILTIN_MODELS = {
    "logistic_regression", "ridge", "elastic_net", "decision_tree", "random_forest", "extra_trees",
    "hist_gradient_boosting", "lightgbm", "xgboost", "svm", "knn", "gaussian_mixture",
}


def _spec(name, fit_raises=False):
    from sklearn.dummy import DummyClassifier

    class Broken(DummyClassifier):
        def fit(self, X, y):
            raise RuntimeError("boom")

    return ModelSpec(
        name, frozenset({Task.BINARY, Task.MULTICLASS}), lambda t, p: {},
        lambda p, c: (Broken if fit_raises else DummyClassifier)(strategy="prior"),
    )


def _plugin(name, *specs):
    module = types.ModuleType(name)
    module.automl_register_models = hookimpl(lambda: list(specs))
    return module


def test_builtins_are_entry_points_of_this_distribution():
    eps = {ep.name: ep for ep in metadata.entry_points(group="automl")}
    assert BUILTIN_PLUGINS <= set(eps)
    for name in BUILTIN_PLUGINS:
        assert eps[name].value.startswith("automl_plugins.")
        assert eps[name].dist.name == "automl"


def test_discover_finds_every_builtin_model():
    registry = discover()
    assert BUILTIN_MODELS <= set(registry.specs) | set(registry.skipped)
    assert {p.name for p in registry.plugins if not p.error} >= BUILTIN_PLUGINS
    assert registry.specs["lightgbm"].plugin == "boosting"
    gmm = registry.specs["gaussian_mixture"]
    assert not gmm.supports(Task.REGRESSION)


def test_plugins_can_be_disabled_by_argument_and_environment(monkeypatch):
    assert "knn" not in discover(disabled=["knn"]).specs
    monkeypatch.setenv(DISABLE_ENV, "boosting, svm")
    registry = discover()
    assert not {"lightgbm", "xgboost", "hist_gradient_boosting", "svm"} & set(registry.specs)
    assert {p.name: p.disabled for p in registry.plugins}["svm"]


def test_misspelled_hook_is_an_error():
    bad = types.ModuleType("typo_plugin")
    bad.automl_register_model = lambda: []  # missing "s"
    with pytest.raises(PluginError, match="automl_register_model.*did you mean 'automl_register_models'"):
        register_plugin(make_plugin_manager(), bad, "typo_plugin")


def test_missing_requirement_skips_the_spec_with_a_reason():
    spec = ModelSpec("needs_missing_lib", frozenset(Task), lambda t, p: {}, lambda p, c: None,
                     requires=("surely_not_installed_lib",))
    registry = discover(plugins=[_plugin("extra", spec)])
    assert "needs_missing_lib" not in registry.specs
    assert "surely_not_installed_lib" in registry.skipped["needs_missing_lib"]


def test_a_raising_plugin_does_not_take_the_others_down():
    module = types.ModuleType("raiser")

    @hookimpl
    def automl_register_models():
        raise ImportError("catboost missing")

    module.automl_register_models = automl_register_models
    registry = discover(plugins=[module])
    assert "catboost missing" in {p.name: p.error for p in registry.plugins}["raiser"]
    assert "lightgbm" in registry.specs


def test_duplicate_model_name_is_rejected():
    registry = discover(plugins=[_plugin("dup", _spec("knn"))])
    assert "already registered" in {p.name: p.error for p in registry.plugins}["dup"]
    assert registry.specs["knn"].plugin == "knn"


def test_select_by_task_rows_and_names():
    registry = discover()
    chosen, why = registry.select(Task.REGRESSION, 1000)
    names = {s.name for s in chosen}
    assert "ridge" in names and "logistic_regression" not in names
    assert "regression" in why["logistic_regression"]
    chosen, why = registry.select(Task.BINARY, 10**6)
    assert "svm" in why and "limit" in why["svm"]
    chosen, _ = registry.select(Task.BINARY, 100, models=["lightgbm", "knn"])
    assert {s.name for s in chosen} == {"lightgbm", "knn"}
    chosen, why = registry.select(Task.BINARY, 100, models=["lightgbm", "knn"], exclude=None)  # None: no exclusions
    assert {s.name for s in chosen} == {"lightgbm", "knn"} and not any("excluded" in w for w in why.values())
    with pytest.raises(PluginError, match="Did you mean 'lightgbm'"):
        registry.select(Task.BINARY, 100, models=["lightgmb"])


@pytest.mark.parametrize("field, value, expected", [
    ("cost_per_class", -1, "cost_per_class must be a number >= 0"),
    ("leads_many_classes", "yes", "leads_many_classes must be True or False"),
])
def test_a_bad_queue_field_names_the_spec_and_the_field(field, value, expected):
    with pytest.raises(PluginError, match=f"ModelSpec 'odd': {expected}"):
        ModelSpec("odd", frozenset(Task), lambda t, p: {}, lambda p, c: None, **{field: value})
