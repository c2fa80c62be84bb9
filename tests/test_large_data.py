"""The large-data path: above ``ROW_RUNGS_ABOVE`` training rows the lower rungs of
successive halving train on row subsamples and the boosters stop early on the validation
rows. Exercised on small generated data by lowering the threshold."""

import dataclasses
import functools

import numpy as np
import pandas as pd
import pytest

import automl.search.fidelity as fidelity
from automl import AutoML
from automl.data.profile import profile_frame
from automl.data.task import Task
from automl.metrics import resolve_metric
from automl.registry import discover
from automl.search.budget import Budget
from automl.search.cv import make_splits
from automl.data.sampling import subsample
from automl.search.fidelity import large_rung_resources, row_fractions, rung_resources
from automl.search.objective import Objective, SearchData
from automl.search.defaults import enqueue_defaults
from automl.search.study import make_pruner, make_study, run_search
from automl.spec import Fidelity


def _data(rows=3000, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, 4)), columns=list("abcd"))
    y = (X["a"] + 0.5 * X["b"] * X["c"] + rng.normal(scale=0.7, size=rows) > 0).astype(int).to_numpy()
    return X, y


def _search_data(X, y, cv=1):
    return SearchData(X, y, Task.BINARY, profile_frame(X, 2), make_splits(y, Task.BINARY, cv, 0),
                      resolve_metric(None, Task.BINARY), 2)


def test_row_rungs_only_above_the_threshold_and_with_halving():
    assert row_fractions(fidelity.ROW_RUNGS_ABOVE, True, 3) is None
    assert row_fractions(10 * fidelity.ROW_RUNGS_ABOVE, False, 3) is None
    rows = 640_000
    fractions = row_fractions(rows, True, 3)
    assert fractions[-1] == 1.0 and fractions == sorted(fractions)
    assert all(b / a == pytest.approx(3) for a, b in zip(fractions, fractions[1:]))
    # as many rungs as keep the lowest at MIN_RUNG_ROWS or more, within [DEFAULT_RUNGS, MAX_RUNGS]
    assert rows * fractions[0] >= fidelity.MIN_RUNG_ROWS > rows * fractions[0] / 3
    assert fidelity.DEFAULT_RUNGS <= len(row_fractions(10**8, True, 3)) == fidelity.MAX_RUNGS


def test_the_model_resource_on_row_rungs():
    rounds = Fidelity("n_estimators", 16, 500, "n_estimators", early_stopping=True)
    trees = Fidelity("n_estimators", 8, 300, "n_estimators")
    assert large_rung_resources(rounds, 4, 3, stops_early=True) == [500] * 4  # stopped early on the validation rows
    assert large_rung_resources(rounds, 4, 3) == [19, 56, 167, 500]  # no early stop (CatBoost): a cheap first rung
    epochs = Fidelity("epochs", 8, 60, "max_epochs", early_stopping=True)
    assert large_rung_resources(epochs, 4, 3) == [8, 8, 20, 60]
    assert large_rung_resources(trees, 4, 3) == [11, 33, 100, 300]  # trees still grow
    iterations = Fidelity("max_iter", 20, 1000, "max_iter")
    assert large_rung_resources(iterations, 4, 3) == [1000] * 4  # to convergence: the rows set the cost
    assert large_rung_resources(Fidelity("sample_fraction", 0.1, 1.0), 4, 3) == [None] * 4  # the rows decide
    assert large_rung_resources(None, 3, 3) == [None] * 3


def _recording(spec, seen):
    """``spec`` whose fits record (rows, the fidelity parameter) they were given."""
    def build(params, ctx):
        model = spec.build(params, ctx)
        fit = model.fit

        @functools.wraps(fit)
        def recorded(X, y, *args, **kwargs):
            seen.append((len(X), params.get(spec.fidelity.param) if spec.fidelity and spec.fidelity.param else None))
            return fit(X, y, *args, **kwargs)

        model.fit = recorded
        return model

    return dataclasses.replace(spec, build=build)


def _run(specs, X, y, n_trials, row_rungs):
    data = _search_data(X, y)
    study = make_study(None, None, 0, make_pruner(3, 3))
    enqueue_defaults(study, list(specs.values()), stopping_first=row_rungs is not None,
                     profile=data.profile)  # as open_search does
    objective = Objective(data, specs, Budget(None), 0, 1, rungs=3, eta=3, row_rungs=row_rungs)
    run_search(study, objective, Budget(None), n_trials)
    return study


@pytest.mark.parametrize("model", ["decision_tree", "random_forest", "lightgbm"])
def test_lower_rungs_fit_fewer_rows_than_the_top(model):
    X, y = _data()
    spec = discover().specs[model]
    seen = []
    train_rows = len(make_splits(y, Task.BINARY, 1, 0)[0][0])
    _run({model: _recording(spec, seen)}, X, y, 3, [1 / 9, 1 / 3, 1.0])
    rows = [r for r, _ in seen]
    assert max(rows) == train_rows, "promoted trials train on all the rows at the top rung"
    assert min(rows) == pytest.approx(train_rows / 9, rel=0.02), "the first rung trains on a ninth of them"
    if model == "random_forest":  # its trees still grow with the rungs
        assert seen[0] == (min(rows), 33) and (train_rows, 300) in seen
    if model == "lightgbm":  # its rounds do not: every rung boosts up to 500 rounds, stopping early
        assert {t for _, t in seen} == {500}


def test_boosters_stop_early_and_are_refit_at_the_rounds_kept():
    X, y = _data()
    spec = discover().specs["lightgbm"]
    study = _run({"lightgbm": spec}, X, y, 2, [1 / 9, 1 / 3, 1.0])
    done = [t for t in study.trials if t.user_attrs.get("status") == "ok"]
    assert done
    for t in done:
        rounds = t.user_attrs["params"]["n_estimators"]
        assert 1 <= rounds < 500, "stopped before the 500 rounds on this small noisy table"
        assert t.user_attrs["refit_resource"] == f"n_estimators={rounds}"


def test_small_data_keeps_the_rungs_of_the_model_own_fidelity():
    """Without row rungs, decision_tree's rungs are its own fraction of the rows, as before."""
    X, y = _data(1500)
    seen = []
    spec = discover().specs["decision_tree"]
    _run({"decision_tree": _recording(spec, seen)}, X, y, 3, None)
    tr = make_splits(y, Task.BINARY, 1, 0)[0][0]
    expected = {len(subsample(tr, f, y, 0)) for f in rung_resources(spec.fidelity, 3, 3)}
    assert {r for r, _ in seen} == expected


def test_small_data_does_not_take_the_large_path(monkeypatch):
    X, y = _data(1500)
    aml = AutoML(time_budget=None, n_trials=2, models=["lightgbm"], verbose=0, seed=0).fit(X, y)
    assert all("rows=" not in str(r) for r in aml.leaderboard()["resource"])


def test_a_search_on_the_large_path_returns_a_working_model(monkeypatch, tmp_path):
    monkeypatch.setattr(fidelity, "ROW_RUNGS_ABOVE", 1000)
    monkeypatch.setattr(fidelity, "MIN_RUNG_ROWS", 100)
    X, y = _data(4000)
    X["s"] = np.where(X["d"] > 0, "p", "q")
    aml = AutoML(time_budget=None, n_trials=8, models=["lightgbm", "logistic_regression"], verbose=0, seed=0)
    aml.fit(X.iloc[:3000], y[:3000])
    board = aml.leaderboard()
    assert board["resource"].astype(str).str.contains("rows=").any(), "lower rungs on a share of the rows"
    assert aml.study_.trials[0].params["model"] == "lightgbm", "the boosters' defaults are queued first"
    proba = aml.predict_proba(X.iloc[3000:])[:, 1]
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[3000:], proba) > 0.75
    aml.save(tmp_path / "m.automl")  # its float32 preprocessing saves and loads (no pickle)
    np.testing.assert_allclose(AutoML.load(tmp_path / "m.automl").predict_proba(X.iloc[3000:])[:, 1], proba)


@pytest.mark.parametrize("model", ["lightgbm", "logistic_regression"])
def test_large_folds_keep_their_floats_as_float32(monkeypatch, model):
    from automl.search.prepared import PreparedFolds

    X, y = _data(3000)
    X["s"] = np.where(X["d"] > 0, "p", "q")
    data = _search_data(X, y)
    spec = discover().specs[model]
    small = PreparedFolds(data.X, data.y, data.profile, data.task, data.splits).get(spec, 0)
    monkeypatch.setattr(fidelity, "ROW_RUNGS_ABOVE", 1000)
    large = PreparedFolds(data.X, data.y, data.profile, data.task, data.splits).get(spec, 0)
    floats = [c for c, d in small.train.dtypes.items() if d.kind == "f"]
    assert floats and all(small.train[c].dtype == np.float64 for c in floats), "small data: unchanged"
    assert list(large.train.columns) == list(small.train.columns)
    assert all(large.train[c].dtype == np.float32 and large.valid[c].dtype == np.float32 for c in floats)
    np.testing.assert_allclose(large.train[floats].to_numpy(), small.train[floats].to_numpy(), rtol=1e-6, atol=1e-6)


def test_on_row_rungs_the_baseline_climbs_every_rung():
    """Each rung prices the next: a jump from 4% of the rows to all of them priced the top
    rung from a rung whose cost was mostly fixed (scoring the whole holdout), 3-5x too high."""
    X, y = _data()
    seen = []
    _run({"decision_tree": _recording(discover().specs["decision_tree"], seen)}, X, y, 1, [1 / 9, 1 / 3, 1.0])
    train_rows = len(make_splits(y, Task.BINARY, 1, 0)[0][0])
    rows = [r for r, _ in seen]
    assert len(rows) == 3 and rows == sorted(rows) and rows[-1] == train_rows


def test_row_rungs_halve_across_families():
    leaders = fidelity.RungLeaders(eta=3)
    assert leaders.behind(0, 0.84) == ""  # the first score leads
    assert "ranked 2 of the 2" in leaders.behind(0, 0.835), "only the best of fewer than 2 x eta go on"
    assert leaders.behind(0, 0.845) == ""
    for score in (0.80, 0.81, 0.82):  # 6 scores: the best 2 go on
        leaders.behind(0, score)
    assert leaders.behind(0, 0.842) == "", "second of 7: among the best 7 // 3"
    assert "behind the best model" in leaders.behind(0, 0.65)
    assert leaders.behind(1, 0.65) == "", "each rung has its own trials"
    assert leaders.best[0] == 0.845
    losses = fidelity.RungLeaders(eta=3)  # negated losses: the gap is relative to the leader's size
    assert losses.behind(0, -0.45) == "" and "behind the best" in losses.behind(0, -0.5)


def test_on_row_rungs_a_baseline_far_behind_stops_and_the_boosters_go_first():
    X, y = _data()
    specs = {name: discover().specs[name] for name in ("decision_tree", "lightgbm")}
    n = len(specs["lightgbm"].defaults(_search_data(X, y).profile))
    study = _run(specs, X, y, n + 1, [1 / 9, 1 / 3, 1.0])
    *boosters, second = study.trials[:n + 1]
    assert [t.params["model"] for t in boosters] == ["lightgbm"] * n, "the models that stop early: all defaults first"
    assert second.params["model"] == "decision_tree" and second.user_attrs["status"] == "pruned"
    assert second.user_attrs["rung"] == 0, "the full-depth tree is far behind at the first rung"


def test_holdout_oof_predictions_are_kept_on_the_validation_rows_only():
    from types import SimpleNamespace

    from automl.search.store import MemoryResults

    rows = np.array([1, 4, 7])
    oof = np.full((10, 2), np.nan)
    oof[rows] = [[0.2, 0.8], [0.6, 0.4], [0.9, 0.1]]
    store = MemoryResults(rows)
    store.put(SimpleNamespace(number=3), 0.7, oof)
    assert store.arrays[3].shape == (3, 2), "a holdout's OOF array is kept on its validation rows"
    back = store.get(SimpleNamespace(number=3))
    np.testing.assert_array_equal(back, oof)  # NaN where the holdout has no prediction, as before
    whole = np.random.default_rng(0).random((10, 2))  # k folds: every row has a prediction
    kfold = MemoryResults(np.arange(10))
    kfold.put(SimpleNamespace(number=1), 0.5, whole)
    assert kfold.get(SimpleNamespace(number=1)) is whole


def test_on_large_data_with_a_budget_the_holdout_model_is_the_final_model(monkeypatch):
    """Large data, a holdout and a time budget: no refit on all rows (its time goes to the
    search; nothing is reserved for it), the best trial's holdout model is the final model.
    Without a budget the best trial is refit on all rows, as on small data."""
    from automl.final.fold_models import FoldAverage

    monkeypatch.setattr(fidelity, "ROW_RUNGS_ABOVE", 1000)
    monkeypatch.setattr(fidelity, "MIN_RUNG_ROWS", 100)
    X, y = _data(4000)
    aml = AutoML(time_budget=60, n_trials=4, models=["lightgbm"], cv=1, verbose=0, seed=0).fit(X.iloc[:3000], y[:3000])
    assert isinstance(aml.best_model_, FoldAverage) and len(aml.best_model_.pipelines) == 1
    assert "holdout's 2400 training rows" in aml.ensemble_.notes[0] and aml.timings_["refit"] < 0.5
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[3000:], aml.predict_proba(X.iloc[3000:])[:, 1]) > 0.75
    refit = AutoML(time_budget=None, n_trials=4, models=["lightgbm"], cv=1, verbose=0, seed=0).fit(X.iloc[:3000], y[:3000])
    assert not isinstance(refit.best_model_, FoldAverage)


def test_on_large_data_a_climb_the_budget_stops_keeps_its_last_rung(monkeypatch):
    """No top rung fits in the budget: each climb keeps its last finished rung (a model of a
    share of the rows, scored on the whole holdout), and the best one is the final model,
    instead of a fallback fitted without search."""
    from automl.final.fold_models import FoldAverage

    monkeypatch.setattr(fidelity, "ROW_RUNGS_ABOVE", 1000)
    monkeypatch.setattr(fidelity, "MIN_RUNG_ROWS", 100)
    top = Budget.estimate
    monkeypatch.setattr(Budget, "estimate",
                        lambda self, key, rows: 1e6 if key.endswith("@2") else top(self, key, rows))
    X, y = _data(4000)
    aml = AutoML(time_budget=60, n_trials=3, models=["lightgbm"], cv=1, verbose=0, seed=0).fit(X.iloc[:3000], y[:3000])
    board = aml.leaderboard()
    ok = board[board["status"] == "ok"]
    assert len(ok) >= 1 and set(ok["rung"]) == {1.0} and ok["resource"].str.startswith("rows=33%").all()
    assert ok["note"].str.contains("kept its last rung").all()
    assert isinstance(aml.best_model_, FoldAverage) and aml.best_trial_ in set(ok["trial"])
    from sklearn.metrics import roc_auc_score

    assert roc_auc_score(y[3000:], aml.predict_proba(X.iloc[3000:])[:, 1]) > 0.75


def test_boosters_stop_early_on_a_sample_of_a_large_holdout(monkeypatch):
    """A booster stops early on at most ``EARLY_STOP_ROWS`` validation rows, or as many as
    it trains on (the rung's score is still on all of them)."""
    from automl.search import isolation

    assert isolation.stopping_rows(1000, 500) is None
    sample = isolation.stopping_rows(360_000, 25_000)
    assert len(sample) == 25_000 and len(np.unique(sample)) == 25_000 and sample.max() < 360_000
    assert len(isolation.stopping_rows(360_000, 1_000)) == isolation.EARLY_STOP_ROWS
    assert np.array_equal(sample, isolation.stopping_rows(360_000, 25_000))  # seeded

    monkeypatch.setattr(isolation, "EARLY_STOP_ROWS", 100)
    X, y = _data()
    spec = discover().specs["lightgbm"]
    sizes = []
    real = spec.early_stop

    def spy(model, X, y, X_valid, y_valid, ctx):
        sizes.append((len(X), len(X_valid)))
        return real(model, X, y, X_valid, y_valid, ctx)

    study = _run({"lightgbm": dataclasses.replace(spec, early_stop=spy)}, X, y, 2, [1 / 9, 1 / 3, 1.0])
    n_valid = len(_search_data(X, y).splits[0][1])
    assert sizes and all(v == min(max(100, t), n_valid) for t, v in sizes), sizes
    assert any(v < n_valid for _, v in sizes)
    assert any(t.user_attrs.get("status") == "ok" for t in study.trials)


def test_the_memory_check_counts_columns_without_preparing_a_large_fold(monkeypatch):
    """On a large table ``width`` fits the preprocessing on a few rows when no fold of the
    kind is kept; on a small one it prepares fold 0 once, kept for the trials."""
    from automl.search.prepared import WIDTH_ROWS, PreparedFolds

    X, y = _data(8000)
    data = _search_data(X, y)
    spec = discover().specs["logistic_regression"]
    folds = PreparedFolds(data.X, data.y, data.profile, data.task, data.splits)
    width = folds.width(spec)
    assert len(folds._kept) == 1 and width == folds.get(spec, 0).train.shape[1]
    assert sum(map(len, folds._seconds.values())) == 1, "prepared once"

    monkeypatch.setattr(fidelity, "ROW_RUNGS_ABOVE", 1000)
    folds = PreparedFolds(data.X, data.y, data.profile, data.task, data.splits)
    width = folds.width(spec)
    assert not folds._kept and WIDTH_ROWS < len(data.splits[0][0])
    assert width == folds.get(spec, 0).train.shape[1] == folds.width(spec)
