"""Each hook of automl.hookspecs, end to end: a plugin implements it, a search uses it.

A meta-test (test_plugin_docs.py) requires a ``test_hook_<name>`` here for every hook.
"""

from __future__ import annotations

import json
import logging
import pickle
import types
import warnings

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.dummy import DummyClassifier

from automl import AutoML, MetricSpec, ModelSpec, Serializer, Task, TrialInfo, decode_plain, encode_plain, hookimpl
from automl.exceptions import DataError, PluginError, UntrustedTypeError
from automl.serializer import type_name
from automl.hookspecs import HOOK_API_VERSION
from automl.metrics import check_metric_name, resolve_metric
from automl.search.observers import MAX_FAILURES, TrialObserver
from automl.registry import discover, make_plugin_manager, register_plugin

CLASSES = frozenset({Task.BINARY, Task.MULTICLASS})


def plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def search(frame, *plugins, **settings) -> AutoML:
    settings = {"models": ["logistic_regression"], "n_trials": 3, "time_budget": None, "verbose": 0, **settings}
    return AutoML(plugins=list(plugins), **settings).fit(frame, "y")


def _prior(params, ctx):
    return DummyClassifier(strategy="prior")


def test_hook_automl_register_models(mixed_frame):
    spec = ModelSpec("constant_prior", CLASSES, lambda trial, profile: {}, _prior)
    aml = search(mixed_frame, plugin("priors", automl_register_models=lambda: [spec]),
                 models=["constant_prior", "logistic_regression"], n_trials=4)
    board = aml.leaderboard()
    assert set(board["model"]) == {"constant_prior", "logistic_regression"}
    scores = board.groupby("model")["score"].max()
    assert abs(scores["constant_prior"] - 0.5) < 0.05 < scores["logistic_regression"] - 0.5  # a constant's AUC


def _share_of_yes(y_true, y_pred):
    """The share of rows predicted as class 1: a metric only a plugin would define."""
    return float(np.mean(y_pred == 1))


def test_hook_automl_register_metrics(mixed_frame):
    metric = MetricSpec("share_of_yes", CLASSES, _share_of_yes, greater_is_better=False)
    extra = plugin("metrics_plugin", automl_register_metrics=lambda: [metric])
    aml = search(mixed_frame, extra, metric="share_of_yes")
    assert aml.metric_ == "share_of_yes" and set(aml.leaderboard()["metric"]) == {"share_of_yes"}
    assert -1 <= aml.best_score_ <= 0  # a loss: the search maximises its negation
    assert -1 <= aml.score(mixed_frame) <= 0  # the fitted model keeps its metric
    again = pickle.loads(pickle.dumps(aml))  # a copy in memory keeps the metric object (a file: by name)
    assert again.score(mixed_frame) == aml.score(mixed_frame)
    assert aml.feature_importances(mixed_frame).attrs["metric"] == "share_of_yes"
    registry = discover(plugins=[extra])
    assert registry.metrics["share_of_yes"].plugin == "metrics_plugin"
    assert {p.name: p.metrics for p in registry.plugins}["metrics_plugin"] == ["share_of_yes"]
    with pytest.raises(DataError, match="share_of_yes.*plugin 'metrics_plugin'.*not regression"):
        resolve_metric("share_of_yes", Task.REGRESSION, registry.metrics)
    with pytest.raises(DataError, match="Did you mean 'share_of_yes'.*Plugin metrics: .*share_of_yes"):
        check_metric_name("share_of_yse", registry.metrics)


def test_metric_specs_are_validated_with_the_field_named():
    with pytest.raises(PluginError, match="scikit-learn scorer"):
        MetricSpec("accuracy", CLASSES, _share_of_yes)
    with pytest.raises(PluginError, match="needs_proba applies to classification"):
        MetricSpec("x_metric", frozenset(Task), _share_of_yes, needs_proba=True)
    with pytest.raises(PluginError, match="tasks is empty"):
        MetricSpec("x_metric", frozenset(), _share_of_yes)


def test_duplicate_metric_names_keep_the_first():
    one = plugin("one", automl_register_metrics=lambda: [MetricSpec("dup_metric", CLASSES, _share_of_yes)])
    two = plugin("two", automl_register_metrics=lambda: [MetricSpec("dup_metric", CLASSES, _share_of_yes)])
    registry = discover(plugins=[one, two])
    assert registry.metrics["dup_metric"].plugin == "one"
    assert "already registered by plugin 'one'" in {p.name: p.error for p in registry.plugins}["two"]


class PriorClassifier(ClassifierMixin, BaseEstimator):
    """Predicts the class frequencies: a plugin's own estimator."""

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.prior_ = counts / counts.sum()
        return self

    def predict_proba(self, X):
        return np.tile(self.prior_, (len(X), 1))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class JsonPriorClassifier(PriorClassifier):
    """The same, stored by the plugin's own serializer (JSON) instead of skops."""


def _dump_prior(model):
    return {"prior.json": json.dumps(encode_plain(vars(model))).encode()}


def _load_prior(name, files):
    model = JsonPriorClassifier()
    vars(model).update(decode_plain(json.loads(files["prior.json"])))
    return model


def test_hook_automl_register_types(mixed_frame, tmp_path):
    declared = [PriorClassifier, Serializer([JsonPriorClassifier], _dump_prior, _load_prior, "prior as JSON")]
    specs = [ModelSpec("prior", CLASSES, lambda t, p: {}, lambda p, c: PriorClassifier()),
             ModelSpec("json_prior", CLASSES, lambda t, p: {}, lambda p, c: JsonPriorClassifier())]
    typed = plugin("typed", automl_register_models=lambda: specs, automl_register_types=lambda: declared)
    registry = discover(plugins=[typed])
    assert registry.types[type_name(PriorClassifier)] == "typed"
    assert registry.serializers[type_name(JsonPriorClassifier)].plugin == "typed"
    assert {p.name: p.types for p in registry.plugins}["typed"] == [type_name(PriorClassifier),
                                                                    type_name(JsonPriorClassifier)]
    for model in ("prior", "json_prior"):
        aml = search(mixed_frame, typed, models=[model], n_trials=2)
        path = tmp_path / f"{model}.automl"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the fit's plugin declares its types: nothing to warn about
            aml.save(path)
        with pytest.raises(UntrustedTypeError, match=type_name(JsonPriorClassifier if model == "json_prior"
                                                               else PriorClassifier)):
            AutoML.load(path)  # the plugin is not installed: nothing declares the type
        loaded = AutoML.load(path, trusted=declared)  # what the hook returns, for a plugin not installed
        assert type(loaded.best_model_.named_steps["model"]).__name__ == type(aml.best_model_[-1]).__name__
        np.testing.assert_array_equal(loaded.predict_proba(mixed_frame), aml.predict_proba(mixed_frame))
    rival = plugin("rival", automl_register_types=lambda: [Serializer([JsonPriorClassifier], _dump_prior, _load_prior)])
    both = discover(plugins=[typed, rival])
    assert both.serializers[type_name(JsonPriorClassifier)].plugin == "typed"
    assert "already has a serializer from plugin 'typed'" in {p.name: p.error for p in both.plugins}["rival"]
    bad = discover(plugins=[plugin("bad_types", automl_register_types=lambda: [42, "no_dot"])])
    assert "automl_register_types failed: PluginError: it returned a int" in {
        p.name: p.error for p in bad.plugins}["bad_types"]
    with pytest.raises(PluginError, match="dotted name"):
        Serializer(["no_dot"], _dump_prior, _load_prior)


def test_hook_automl_trial_finished(mixed_frame):
    seen: list[TrialInfo] = []
    aml = search(mixed_frame, plugin("tracker", automl_trial_finished=lambda trial: seen.append(trial)), n_trials=4)
    board = aml.leaderboard()
    assert [t.number for t in seen] == sorted(board["trial"])
    for info in seen:
        row = board.set_index("trial").loc[info.number]
        assert info.model == row["model"] == "logistic_regression" and info.plugin == "linear"
        assert info.state == row["status"] and info.metric == "roc_auc" and info.duration > 0
        assert info.score == pytest.approx(row["score"]) if info.state == "ok" else info.score is None
        assert info.params == __import__("json").loads(row["params"]) and info.study_name == aml.study_.study_name
    assert [t.default for t in seen][:2] == [True, True]  # the model's two default configurations come first


def test_an_observer_may_take_no_argument(mixed_frame):
    calls = []
    search(mixed_frame, plugin("counter", automl_trial_finished=lambda: calls.append(1)), n_trials=2)
    assert calls == [1, 1]


def test_a_raising_observer_is_logged_and_the_search_goes_on(mixed_frame, caplog):
    def broken(trial):
        raise RuntimeError("tracker offline")

    seen = []
    with caplog.at_level(logging.WARNING, logger="automl"):
        aml = search(mixed_frame, plugin("broken_tracker", automl_trial_finished=broken),
                     plugin("good_tracker", automl_trial_finished=lambda trial: seen.append(trial)), n_trials=5)
    assert len(aml.leaderboard()) == 5 and len(seen) == 5  # the other observer saw every trial
    failures = [r.getMessage() for r in caplog.records if "broken_tracker" in r.getMessage()]
    assert len(failures) == MAX_FAILURES and "tracker offline" in failures[0]
    assert "not called again" in failures[-1]


def test_the_observer_never_raises_even_on_an_odd_trial():
    observer = TrialObserver([("x", lambda **kw: None)], "roc_auc", {})
    observer(types.SimpleNamespace(study_name="s"), object())  # not a FrozenTrial: logged, not raised


def test_a_plugin_needing_a_newer_hook_api_is_refused_with_the_versions():
    future = plugin("future", automl_register_models=lambda: [])
    future.AUTOML_HOOK_API = HOOK_API_VERSION + 1
    with pytest.raises(PluginError, match=f"'future' needs automl hook API version {HOOK_API_VERSION + 1}.*Upgrade"):
        register_plugin(make_plugin_manager(), future, "future")
    future.AUTOML_HOOK_API = HOOK_API_VERSION
    register_plugin(make_plugin_manager(), future, "future")


def test_a_hook_argument_the_spec_lacks_is_an_error_naming_the_plugin():
    wrong = plugin("wrong_args", automl_trial_finished=lambda info: None)  # the argument is `trial`
    with pytest.raises(PluginError, match="Plugin 'wrong_args'.*info"):
        register_plugin(make_plugin_manager(), wrong, "wrong_args")
