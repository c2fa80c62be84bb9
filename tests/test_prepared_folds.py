"""Folds are prepared once per kind of preprocessing, with no leakage; baselines skip middle rungs."""

import numpy as np
import pandas as pd
import pytest

from automl.metrics import resolve_metric
from automl.preprocessing.pipeline import build_pipeline, predict_scores
from automl.data.profile import profile_frame
from automl.registry import discover
from automl.search.budget import Budget
from automl.search.cv import make_splits
from automl.search.objective import Objective, SearchData
from automl.search.prepared import PreparedFolds, kind
from automl.search.study import make_pruner, make_study, run_search
from automl.spec import BuildContext
from automl.data.task import Task


def _data(n=700, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({
        "a": rng.normal(size=n),
        "b": np.where(rng.random(n) < 0.2, np.nan, rng.normal(size=n)),
        "colour": rng.choice(["red", "green", "blue", "grey"], size=n),
        "town": rng.choice([f"t{i}" for i in range(60)], size=n),  # high cardinality: target encoded
    })
    y = ((X["a"] + (X["colour"] == "red") + rng.normal(scale=0.5, size=n)) > 0.5).astype(int).to_numpy()
    return X, y


@pytest.fixture(scope="module")
def specs():
    return discover().specs


def test_a_prepared_fold_predicts_as_the_whole_pipeline_fitted_on_that_fold(specs):
    """The fold's transformers see only its training rows: the same model on prepared rows
    predicts exactly what a pipeline fitted on the fold predicts."""
    X, y = _data()
    splits = make_splits(y, Task.BINARY, 3, 0)
    profile = profile_frame(X, 2)
    prepared = PreparedFolds(X, y, profile, Task.BINARY, splits)
    ctx = BuildContext(task=Task.BINARY, random_state=0, n_jobs=1, n_classes=2)
    for name in ("logistic_regression", "hist_gradient_boosting"):
        spec = specs[name]
        params = spec.default_params[0] | ({"max_iter": 20} if name == "hist_gradient_boosting" else {})
        for i, (tr, va) in enumerate(splits):
            fold = prepared.get(spec, i)
            model = spec.build(dict(params), ctx).fit(fold.train, y[tr])
            pipe = build_pipeline(spec, params, profile, ctx).fit(X.iloc[tr], y[tr])
            np.testing.assert_allclose(predict_scores(model, fold.valid, 2), predict_scores(pipe, X.iloc[va], 2))
            assert len(fold.train) == len(tr) and len(fold.valid) == len(va)


def test_each_fold_and_kind_is_prepared_once(specs, monkeypatch):
    X, y = _data()
    splits = make_splits(y, Task.BINARY, 3, 0)
    prepared = PreparedFolds(X, y, profile_frame(X, 2), Task.BINARY, splits)
    built = []
    import automl.search.prepared as module
    real = module.build_preprocessor
    monkeypatch.setattr(module, "build_preprocessor", lambda *a: built.append(kind(a[1])) or real(*a))
    linear, knn, hgb = specs["logistic_regression"], specs["knn"], specs["hist_gradient_boosting"]
    assert kind(linear) == kind(knn) != kind(hgb), "the test needs two models sharing a kind"
    for spec in (linear, knn, hgb, linear, hgb):
        for i in range(len(splits)):
            assert prepared.get(spec, i) is prepared.get(spec, i)
    assert sorted(built) == sorted([kind(linear)] * 3 + [kind(hgb)] * 3)
    assert prepared.seconds(linear) > 0 and prepared.seconds() >= prepared.seconds(hgb)


def test_past_the_memory_bound_folds_are_prepared_again(specs):
    X, y = _data()
    splits = make_splits(y, Task.BINARY, 3, 0)
    prepared = PreparedFolds(X, y, profile_frame(X, 2), Task.BINARY, splits, max_bytes=0)
    spec = specs["logistic_regression"]
    first, again = prepared.get(spec, 0), prepared.get(spec, 0)
    assert first is not again
    pd.testing.assert_frame_equal(first.train, again.train)


def _rungs_trained(spec_name, default_index, specs, monkeypatch, budget=None, trials=1):
    """Rungs the trials of ``spec_name`` trained (three rungs; the first trial is enqueued)."""
    X, y = _data(900, seed=1)
    data = SearchData(X, y, Task.BINARY, profile_frame(X, 2), make_splits(y, Task.BINARY, 3, 0),
                      resolve_metric(None, Task.BINARY), 2)
    budget = budget or Budget(None)
    objective = Objective(data, {spec_name: specs[spec_name]}, budget, 0, 1, rungs=3, eta=3)
    trained = []
    real = objective._rung
    monkeypatch.setattr(objective, "_rung", lambda spec, params, k, *a: trained.append(k) or real(spec, params, k, *a))
    study = make_study(None, None, 0, make_pruner(3, 3))
    attrs = {} if default_index is None else {"default_config": default_index}
    study.enqueue_trial({"model": spec_name}, user_attrs=attrs)
    run_search(study, objective, budget, n_trials=trials)
    assert study.trials[0].user_attrs["rung"] == 2
    return trained


def test_a_baseline_that_cannot_continue_skips_the_middle_rungs(specs, monkeypatch):
    assert _rungs_trained("knn", 0, specs, monkeypatch) == [0, 2], "probe, then the full resource"
    assert _rungs_trained("knn", None, specs, monkeypatch) == [0, 1, 2], "other trials climb every rung"
    assert _rungs_trained("random_forest", 0, specs, monkeypatch) == [0, 1, 2], "continued rungs cost nothing extra"


def test_a_cheap_model_that_cannot_continue_goes_straight_to_the_full_resource(specs, monkeypatch):
    """Under 2% of the budget per full trial, pruning saves almost nothing: no lower rungs."""
    trained = _rungs_trained("knn", 0, specs, monkeypatch, budget=Budget(1e6), trials=3)
    assert trained == [0, 2, 2, 2], "the baseline probes; the next trials train the full resource only"
    trained = _rungs_trained("knn", 0, specs, monkeypatch, budget=Budget(None), trials=3)
    assert trained[:2] == [0, 2] and trained[2:4] == [0, 1], "no budget: no time scale, trials climb"
