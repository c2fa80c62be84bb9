"""A real search logged to a local MLflow tracking store (SQLite in a temporary folder)
and read back with ``mlflow.search_runs``: one parent run per fit, a child per trial."""

import logging

import mlflow
import numpy as np
import pandas as pd
import pytest

import automl_mlflow
from automl import AutoML
from automl.registry import discover
from automl.testing import check_plugin
from automl_mlflow import MLflowTracker

SETTINGS = dict(time_budget=None, n_trials=4, models=["logistic_regression", "decision_tree"], cv=2, verbose=0)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """One SQLite store for the module (creating its tables takes seconds)."""
    return f"sqlite:///{tmp_path_factory.mktemp('mlflow') / 'mlflow.db'}"


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 3)), columns=["a", "b", "c"])
    y = np.where(X["a"] + 0.5 * rng.normal(size=200) > 0, "yes", "no")
    return X.iloc[:150], y[:150], X.iloc[150:], y[150:]


def _runs(store, experiment):
    mlflow.set_tracking_uri(store)
    return mlflow.search_runs(experiment_names=[experiment])


def test_a_fit_is_a_parent_run_with_a_child_per_trial(store, data):
    X, y, X_test, y_test = data
    tracker = MLflowTracker(store, "fits")
    aml = AutoML(**SETTINGS, plugins=[tracker]).fit(X, y)
    run_id = tracker.log_final(aml, X_test, y_test)

    runs = _runs(store, "fits")
    parent = runs[runs["tags.automl.role"] == "fit"]
    children = runs[runs["tags.automl.role"] == "trial"]
    assert len(parent) == 1 and parent["run_id"].iloc[0] == run_id and len(children) == 4
    assert (children["tags.mlflow.parentRunId"] == run_id).all()
    assert (children["tags.automl.study_name"] == aml.study_.study_name).all()
    board = aml.leaderboard().set_index("trial")
    for _, child in children.iterrows():
        trial = board.loc[int(child["tags.automl.trial"])]
        assert child["params.model"] == trial["model"] and child["tags.automl.state"] == trial["status"]
        assert child["metrics.rung"] == trial["rung"] and child["metrics.duration_s"] > 0
        assert child["metrics.score"] == pytest.approx(trial["score"]) if trial["status"] == "ok" else True
    assert children["params.C"].notna().any(), "the model's parameters are params"
    final = parent.iloc[0]
    assert final["status"] == "FINISHED" and final["params.n_trials"] == "4" and final["params.cv"] == "2"
    assert final["metrics.best_score"] == pytest.approx(aml.best_score_)
    assert final["metrics.final_score"] == pytest.approx(aml.ensemble_.oof_score)
    assert final["metrics.test_score"] == pytest.approx(aml.score(X_test, y_test))
    assert final["metrics.predict_1_ms"] > 0 and final["tags.automl.best_model"] == aml.best_model_name_
    assert final["tags.automl.final_model"] == aml.ensemble_.report[:5000]


def test_the_installed_entry_point_logs_when_mlflow_tracking_uri_is_set(store, data, monkeypatch):
    X, y, _, _ = data
    assert "mlflow_tracking" in [name for name, _ in discover().observers]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_EXPERIMENT_NAME", "from-env")
    aml = AutoML(**SETTINGS).fit(X, y)
    run_id = automl_mlflow.log_final(aml)
    runs = _runs(store, "from-env")
    assert len(runs) == 5 and (runs.loc[runs["run_id"] != run_id, "tags.mlflow.parentRunId"] == run_id).all()
    monkeypatch.delenv("MLFLOW_TRACKING_URI")
    with pytest.raises(RuntimeError, match="MLFLOW_TRACKING_URI is not set"):
        automl_mlflow.log_final(aml)


def test_a_resumed_study_logs_to_the_same_parent_and_nests_under_the_callers_run(store, data, tmp_path):
    X, y, _, _ = data
    tracker = MLflowTracker(store, "resumed")
    kwargs = SETTINGS | dict(n_trials=2, storage=f"sqlite:///{tmp_path / 'study.db'}", study_name="resume-me")
    mlflow.set_tracking_uri(store)
    mlflow.set_experiment("resumed")
    with mlflow.start_run(run_name="my experiment") as outer:
        first = AutoML(**kwargs, plugins=[tracker]).fit(X, y)
        tracker.log_final(first)
    again = MLflowTracker(store, "resumed")  # another process, say
    AutoML(**kwargs, plugins=[again]).fit(X, y)
    runs = _runs(store, "resumed")
    parent = runs[runs["tags.automl.role"] == "fit"]
    assert len(parent) == 1 and parent["tags.mlflow.parentRunId"].iloc[0] == outer.info.run_id
    assert (runs["tags.automl.role"] == "trial").sum() == 4
    assert again.parent_run_id("resume-me") == parent["run_id"].iloc[0]


def test_the_tracker_meets_the_plugin_contract_and_a_broken_store_does_not_stop_the_fit(store, data, tmp_path,
                                                                                         caplog):
    check_plugin(MLflowTracker(store, "contract"))
    X, y, _, _ = data
    (tmp_path / "a_file").write_text("not a folder")
    broken = MLflowTracker(f"sqlite:///{tmp_path / 'a_file' / 'mlflow.db'}", "broken")
    with caplog.at_level(logging.WARNING, logger="automl"):
        aml = AutoML(**SETTINGS, plugins=[broken]).fit(X, y)
    assert len(aml.leaderboard()) == 4
    assert "automl_trial_finished raised" in caplog.text and "not called again" in caplog.text
