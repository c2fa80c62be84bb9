"""automl.testing: every contract check catches the mistake it is there for."""

from __future__ import annotations

import random
import types
from dataclasses import replace

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import AdaBoostClassifier
from sklearn.metrics import accuracy_score
from sklearn.tree import DecisionTreeClassifier

from automl import Fidelity, MetricSpec, ModelSpec, Serializer, Task, hookimpl
from automl.exceptions import PluginError
from automl.testing import (
    Case,
    MODEL_CHECKS,
    PluginContract,
    check_clone,
    check_fidelity,
    check_fit_predict,
    check_flags,
    check_metric,
    check_pickle,
    check_plugin,
    check_predict_proba,
    check_safe_format,
    check_search_space,
    check_stops_in_time,
    check_warm_start,
    contract_cases,
)
from automl_plugins.knn import KNN
from automl_plugins.tree import DECISION_TREE

CLASSES = frozenset({Task.BINARY, Task.MULTICLASS})


def _tree_space(trial, profile):
    return {"max_depth": trial.suggest_int("max_depth", 2, 6)}


def _tree_build(params, ctx):
    return DecisionTreeClassifier(random_state=ctx.random_state, **params)


def tree_spec(**changes) -> ModelSpec:
    """A correct spec; ``changes`` make it wrong in one way."""
    fields = dict(name="toy_tree", tasks=CLASSES, search_space=_tree_space, build=_tree_build,
                  default_params=({"max_depth": 4},), fidelity=Fidelity("sample_fraction", 0.25, 1.0),
                  handles_missing=True)
    return ModelSpec(**{**fields, **changes})


def test_a_correct_spec_passes_every_check():
    for case in contract_cases(specs=[tree_spec()]):
        case()


def test_search_space_must_be_deterministic():
    def space(trial, profile):
        return {"max_depth": random.randint(2, 6)}  # not from the trial

    with pytest.raises(AssertionError, match="not deterministic"):
        check_search_space(tree_spec(search_space=space), Task.BINARY)


def test_search_space_must_use_only_the_namespaced_trial():
    def space(trial, profile):
        trial.set_user_attr("x", 1)  # not part of the namespaced trial
        return {}

    with pytest.raises(AssertionError, match="namespaced trial"):
        check_search_space(tree_spec(search_space=space), Task.BINARY)


def test_search_space_must_not_suggest_the_fidelity_parameter():
    def space(trial, profile):
        return {"n_estimators": trial.suggest_int("n_estimators", 10, 50)}

    spec = ModelSpec("toy_ada", CLASSES, space, lambda p, c: AdaBoostClassifier(**p),
                     fidelity=Fidelity("n_estimators", 5, 50, "n_estimators"))
    with pytest.raises(AssertionError, match="suggests the fidelity parameter"):
        check_search_space(spec, Task.BINARY)


def test_search_space_values_must_be_storable():
    with pytest.raises(AssertionError, match="plain values"):
        check_search_space(tree_spec(search_space=lambda t, p: {"max_depth": object()}), Task.BINARY)


def test_fidelity_parameter_must_reach_the_estimator():
    def build(params, ctx):  # drops the fidelity parameter
        return AdaBoostClassifier(**{k: v for k, v in params.items() if k != "n_estimators"})

    spec = ModelSpec("toy_ada", CLASSES, lambda t, p: {}, build, fidelity=Fidelity("n_estimators", 5, 50, "n_estimators"))
    with pytest.raises(AssertionError, match="passes through"):
        check_fidelity(spec, Task.BINARY)
    with pytest.raises(AssertionError, match="whole numbers"):
        check_fidelity(replace(spec, fidelity=Fidelity("n_estimators", 0.5, 50, "n_estimators")), Task.BINARY)
    with pytest.raises(AssertionError, match="to 1.0"):
        check_fidelity(tree_spec(fidelity=Fidelity("sample_fraction", 0.1, 0.5)), Task.BINARY)


class ChangesItsParams(ClassifierMixin, BaseEstimator):
    def __init__(self, depth=3):
        self.depth = depth + 1  # __init__ must only store its arguments

    def fit(self, X, y):
        return self

    def predict(self, X):
        return np.zeros(len(X))

    def predict_proba(self, X):
        return np.ones((len(X), 2)) / 2


def test_clone_must_keep_the_parameters():
    with pytest.raises(AssertionError, match="clone"):
        check_clone(tree_spec(build=lambda p, c: ChangesItsParams()), Task.BINARY)


def test_default_configurations_must_fit_and_learn():
    with pytest.raises(AssertionError, match="does not fit"):
        check_fit_predict(tree_spec(default_params=({"no_such_param": 1},)), Task.BINARY)
    with pytest.raises(AssertionError, match="does not beat a constant"):
        check_fit_predict(tree_spec(default_params=({"max_depth": 1, "min_samples_leaf": 10**4},)), Task.BINARY)


class ReversedProba(DecisionTreeClassifier):
    """Probabilities whose columns are not in classes_ order."""

    def predict_proba(self, X, check_input=True):
        return super().predict_proba(X, check_input)[:, ::-1]


class HalfProba(DecisionTreeClassifier):
    def predict_proba(self, X, check_input=True):
        return super().predict_proba(X, check_input) / 2


def test_predict_proba_must_follow_classes_order_and_sum_to_one():
    with pytest.raises(AssertionError, match="classes_ order"):
        check_predict_proba(tree_spec(build=lambda p, c: ReversedProba(random_state=0, **p)), Task.BINARY)
    with pytest.raises(AssertionError, match="sum to 1"):
        check_predict_proba(tree_spec(build=lambda p, c: HalfProba(random_state=0, **p)), Task.MULTICLASS)


class RandomAfterPickle(DecisionTreeClassifier):
    def __setstate__(self, state):
        super().__setstate__(state)
        self.tree_ = DecisionTreeClassifier(max_depth=1).fit(np.random.default_rng(1).normal(size=(200, 20)),
                                                             np.arange(200) % 2).tree_


def test_pickle_round_trip_must_predict_identically():
    with pytest.raises(AssertionError, match="pickle"):
        check_pickle(tree_spec(build=lambda p, c: RandomAfterPickle(random_state=0, **p)), Task.BINARY)


class Undeclared(DecisionTreeClassifier):
    """A plugin's estimator class."""


def _constant(name, files):
    return DummyClassifier(strategy="constant", constant=0).fit([[0], [1]], [0, 1])


def test_a_model_must_round_trip_through_the_model_file_with_the_types_its_plugin_declares():
    spec = tree_spec(build=lambda p, c: Undeclared(random_state=0, **p))
    with pytest.raises(AssertionError, match="holds types no plugin declares.*Undeclared"):
        check_safe_format(spec, Task.BINARY)
    check_safe_format(spec, Task.BINARY, [Undeclared])  # what automl_register_types returns
    broken = Serializer([Undeclared], lambda model: {"tree.json": "text, not bytes"}, _constant)
    with pytest.raises(AssertionError, match="cannot be stored in a model file"):
        check_safe_format(spec, Task.BINARY, [broken])
    forgetful = Serializer([Undeclared], lambda model: {"tree.json": b"{}"}, _constant)
    with pytest.raises(AssertionError, match="differs after a model file round trip"):
        check_safe_format(spec, Task.BINARY, [forgetful])
    typed = types.SimpleNamespace(__name__="typed", automl_register_models=hookimpl(lambda: [spec]),
                                  automl_register_types=hookimpl(lambda: [Undeclared]))
    cases = [c for c in contract_cases(plugins=[typed]) if c.check == "safe_format"]
    assert cases and all(c.declared == (Undeclared,) for c in cases)
    for case in cases:
        case()  # the plugin's declaration reaches the check


def test_a_warm_start_model_must_train_on_as_the_core_continues_it():
    ada = ModelSpec("toy_ada", CLASSES, lambda t, p: {}, lambda p, c: AdaBoostClassifier(random_state=0, **p),
                    fidelity=Fidelity("n_estimators", 5, 50, "n_estimators"))
    check_warm_start(ada, Task.BINARY)  # no warm start: nothing to check
    with pytest.raises(AssertionError, match="no warm_start parameter"):  # AdaBoost has none
        check_warm_start(replace(ada, warm_start=True), Task.BINARY)

    def resume(model, X, y, resource, ctx):
        return model.set_params(n_estimators=resource).fit(X, y)

    check_warm_start(replace(ada, warm_start=True, resume=resume), Task.BINARY)
    with pytest.raises(AssertionError, match="resume must return the fitted estimator"):
        check_warm_start(replace(ada, warm_start=True, resume=lambda m, X, y, r, c: None), Task.BINARY)
    with pytest.raises(AssertionError, match="does not train on to the full resource"):
        check_warm_start(replace(ada, warm_start=True, resume=lambda m, X, y, r, c: m.fit(X, y[:-1])),
                         Task.BINARY)
    with pytest.raises(PluginError, match="resume must be callable, with warm_start=True"):
        replace(ada, resume=resume)


def test_a_model_that_stops_in_time_must_fit_with_no_time_left():
    def build(params, ctx):
        if ctx.time_limit is not None and ctx.time_limit <= 0:
            raise RuntimeError("no time to train")
        return AdaBoostClassifier(random_state=0, **params)

    ada = ModelSpec("toy_ada", CLASSES, lambda t, p: {}, build,
                    fidelity=Fidelity("n_estimators", 5, 50, "n_estimators"))
    check_stops_in_time(ada, Task.BINARY)  # it does not say it stops in time: nothing to check
    with pytest.raises(AssertionError, match="stops_in_time=True but a fit with time_limit=0 fails"):
        check_stops_in_time(replace(ada, stops_in_time=True), Task.BINARY)
    check_stops_in_time(replace(ada, build=lambda p, c: AdaBoostClassifier(random_state=0, **p), stops_in_time=True),
                        Task.BINARY)
    with pytest.raises(PluginError, match="stops_in_time must be True or False"):
        replace(ada, fidelity=None, stops_in_time=True)


def test_flags_must_be_honest():
    ada = ModelSpec("toy_ada", CLASSES, lambda t, p: {}, lambda p, c: AdaBoostClassifier(random_state=0, **p),
                    fidelity=Fidelity("n_estimators", 5, 50, "n_estimators"))
    check_flags(ada, Task.BINARY)  # honest: the core imputes and encodes for it
    with pytest.raises(AssertionError, match="handles_missing=True"):
        check_flags(replace(ada, handles_missing=True), Task.BINARY)
    with pytest.raises(AssertionError, match="handles_categorical=True"):
        check_flags(replace(ada, handles_categorical=True), Task.BINARY)
    with pytest.raises(AssertionError, match="needs_scaling=False"):  # k-NN distances need scaled columns
        check_flags(replace(KNN, needs_scaling=False), Task.REGRESSION)
    check_flags(DECISION_TREE, Task.REGRESSION)  # trees do not care about scales


def _accuracy(y_true, y_pred):
    return accuracy_score(y_true, y_pred)


def test_metric_must_prefer_perfect_predictions():
    good = MetricSpec("toy_accuracy", CLASSES, _accuracy)
    for task in CLASSES:
        check_metric(good, task)
    with pytest.raises(AssertionError, match="greater_is_better"):
        check_metric(replace(good, greater_is_better=False), Task.BINARY)
    with pytest.raises(AssertionError, match="finite float"):
        check_metric(MetricSpec("toy_nan", CLASSES, lambda y, p: float("nan")), Task.BINARY)


def test_plugin_check_catches_misspelled_hooks_and_wrong_returns():
    typo = types.ModuleType("typo")
    typo.automl_register_model = lambda: []
    with pytest.raises(PluginError, match="did you mean 'automl_register_models'"):
        check_plugin(typo)
    wrong = types.ModuleType("wrong")
    wrong.automl_register_models = hookimpl(lambda: [{"name": "x"}])
    with pytest.raises(AssertionError, match="list of ModelSpec"):
        check_plugin(wrong)
    untyped = types.ModuleType("untyped")
    untyped.automl_register_types = hookimpl(lambda: ["no_dot"])
    with pytest.raises(AssertionError, match="dotted name"):
        check_plugin(untyped)
    untyped.automl_register_types = hookimpl(lambda: [3])
    with pytest.raises(AssertionError, match="automl_register_types must return classes"):
        check_plugin(untyped)
    chatty = types.ModuleType("chatty")
    chatty.automl_trial_finished = hookimpl(lambda trial: "logged")
    with pytest.raises(AssertionError, match="must return None"):
        check_plugin(chatty)


def test_cases_cover_every_check_and_task_and_skip_missing_requirements():
    spec = tree_spec(requires=("surely_not_installed_lib",))
    cases = contract_cases(specs=[spec])
    assert {(c.check, c.task) for c in cases} == {
        (check, task) for check in (
            "search_space", "fidelity", "clone", "fit_predict", "predict_proba", "pickle", "safe_format", "warm_start",
            "stops_in_time", "flags")
        for task in CLASSES
    }
    assert str(cases[0]) == "search_space-toy_tree-binary"
    with pytest.raises(pytest.skip.Exception, match="surely_not_installed_lib"):
        cases[0]()
    assert Case("metric", MetricSpec("toy_accuracy", CLASSES, _accuracy), Task.BINARY).name == "toy_accuracy-binary"


class TestContractClassOnAToyPlugin(PluginContract):
    """The class form, as a plugin author uses it."""

    plugins = [types.SimpleNamespace(__name__="toy", automl_register_models=hookimpl(lambda: [tree_spec()]))]
    metrics = [MetricSpec("toy_accuracy", CLASSES, _accuracy)]


def test_the_class_form_has_one_test_per_check():
    """A check added to ``MODEL_CHECKS`` runs for every plugin of the class form (no hand-kept list)."""
    tests = {name.removeprefix("test_") for name in dir(PluginContract) if name.startswith("test_")}
    assert tests == {"plugin", *MODEL_CHECKS, "metric"}
