"""The installed plugin as automl finds it: listed, and used by a search with no other change."""

import json

import pytest

from automl import AutoML, datasets
from automl.cli import main
from automl.registry import discover
from automl_plugin_example import tracking

PLUGINS = {"example_models", "example_metrics", "example_tracking"}


def test_discovery_finds_the_entry_points():
    registry = discover()
    ours = {p.name: p for p in registry.plugins if p.distribution == "automl-plugin-example"}
    assert set(ours) == PLUGINS and not any(p.error for p in ours.values())
    assert {"adaboost", "naive_bayes"} <= set(registry.specs) and registry.specs["adaboost"].plugin == "example_models"
    assert registry.metrics["gini"].plugin == "example_metrics"
    assert [name for name, _ in registry.observers if name in PLUGINS] == ["example_tracking"]


def test_automl_plugins_lists_it(capsys):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    assert "example_models (automl-plugin-example 0.1.0) hooks: automl_register_models" in out
    assert "adaboost: tasks=binary,multiclass,regression fidelity=n_estimators 10..200" in out
    assert "metric gini: tasks=binary" in out


@pytest.fixture(scope="module")
def credit():
    data = datasets.load("credit_g")  # 1,000 rows, binary
    return data.frame, data.target


def test_a_search_uses_the_models_the_metric_and_the_observer(credit, tmp_path, monkeypatch):
    log = tmp_path / "trials.jsonl"
    monkeypatch.setenv(tracking.ENV, str(log))
    frame, target = credit
    aml = AutoML(models=["adaboost", "naive_bayes"], metric="gini", n_trials=5, time_budget=None, verbose=0)
    aml.fit(frame, target)
    board = aml.leaderboard()
    assert len(board) == 5 and set(board["model"]) <= {"adaboost", "naive_bayes"}
    assert aml.metric_ == "gini" and 0 < aml.best_score_ <= 1  # better than random ranking
    assert aml.best_model_name_ in {"adaboost", "naive_bayes"}
    assert 0 < aml.score(frame) <= 1
    trials = [json.loads(line) for line in log.read_text().splitlines()]
    assert [t["number"] for t in trials] == sorted(board["trial"])
    assert {t["plugin"] for t in trials} == {"example_models"} and {t["metric"] for t in trials} == {"gini"}
    done = [t for t in trials if t["state"] == "ok"]
    assert done and all(t["score"] is not None and t["duration"] > 0 for t in done)


def test_adaboost_alone_as_in_the_readme(credit):
    frame, target = credit
    aml = AutoML(models=["adaboost"], n_trials=5, verbose=0).fit(frame, target)
    assert aml.best_model_name_ == "adaboost" and len(aml.leaderboard()) == 5
