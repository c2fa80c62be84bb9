"""The search keeps to its budget: rungs that do not fit are not started (fake clocks)."""

import dataclasses

import numpy as np
import optuna
import pytest
import pandas as pd

from automl.metrics import resolve_metric
from automl.preprocessing.pipeline import at_fidelity
from automl.data.profile import profile_frame
from automl.registry import discover
from automl.search.budget import Budget, refit_basis
from automl.search.cv import make_splits
from automl.search.objective import Objective, SearchData
from automl.search.defaults import enqueue_defaults
from automl.search.study import make_pruner, make_study, run_search
from automl.data.task import Task


class StepClock:
    """Advances ``step`` seconds each time it is read: fits look expensive."""

    def __init__(self, step):
        self.now, self.step = 0.0, step

    def __call__(self):
        self.now += self.step
        return self.now


def _binary_data(seed, rows, cols=4, noise=0.0, metric=None, signal=1):
    """Binary search data: ``cols`` normal columns, the label is the sum of the first
    ``signal`` columns (+ noise) > 0."""
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(rows, cols)), columns=list("abcdef"[:cols]))
    y = (X.iloc[:, :signal].sum(axis=1) + (rng.normal(scale=noise, size=rows) if noise else 0) > 0).astype(int).to_numpy()
    return SearchData(X, y, Task.BINARY, profile_frame(X, 2), make_splits(y, Task.BINARY, 3, 0),
                      resolve_metric(metric, Task.BINARY), 2)


def _search(total, step, n_trials=8):
    data = _binary_data(0, 600, noise=0.5)
    specs = {s.name: s for s in discover().specs.values() if s.name in ("logistic_regression", "decision_tree")}
    budget = Budget(total, clock=StepClock(step))
    study = make_study(None, None, 0, make_pruner(3, 3))
    enqueue_defaults(study, list(specs.values()), profile=data.profile)
    run_search(study, Objective(data, specs, budget, 0, 1, rungs=3, eta=3), budget, n_trials)
    return study, budget


def test_trials_stop_when_the_budget_is_spent():
    study, budget = _search(total=40, step=1.0)
    started = [t for t in study.trials if t.state != optuna.trial.TrialState.WAITING]
    assert len(started) < 8, "the search ends instead of starting trials it cannot finish"
    assert budget.search_remaining() <= 0, "it ran until the time was spent"
    stopped = [t for t in started if t.user_attrs.get("status") != "ok"]
    assert all(t.user_attrs["status"] == "stopped" and "time" in t.user_attrs["error"] for t in stopped)


def test_no_budget_runs_every_trial():
    study, _ = _search(total=None, step=1.0, n_trials=5)
    assert len(study.trials) == 5
    assert not [t for t in study.trials if t.user_attrs.get("status") == "stopped"]


def test_refit_reserve_is_kept_free():
    _, budget = _search(total=60, step=0.2, n_trials=None)
    assert budget.best_refit is not None
    assert budget.search_remaining() <= 0, "the search ran until only the reserve was left"
    assert budget.remaining() > 0, "and stopped before the deadline, leaving time for the refit"


def _one_booster_trial(seed, noise, metric=None, signal=1):
    data = _binary_data(seed, 900, cols=6, noise=noise, metric=metric, signal=signal)
    specs = {s.name: s for s in discover().specs.values() if s.name == "hist_gradient_boosting"}
    study = make_study(None, None, 0, make_pruner(3, 3))
    study.enqueue_trial({"model": "hist_gradient_boosting"}, user_attrs={"default_config": 0})
    objective = Objective(data, specs, Budget(None), 0, 1, rungs=3, eta=3)
    run_search(study, objective, Budget(None), n_trials=1)
    return study.trials[0], specs["hist_gradient_boosting"]


def test_boosting_keeps_its_best_rung_and_is_refit_there():
    """On noise, more rounds overfit: the next rung scores worse on its first folds and is
    stopped there (rung_gain.py); the trial keeps the rung that scored best."""
    trial, spec = _one_booster_trial(1, noise=2.0, metric="log_loss")
    rounds = trial.user_attrs["params"]["max_iter"]
    assert trial.state == optuna.trial.TrialState.COMPLETE and rounds < 500, trial.user_attrs
    assert "scored worse at rung" in trial.user_attrs["note"] and "kept its best rung" in trial.user_attrs["note"]
    assert trial.user_attrs["refit_resource"] == f"max_iter={rounds}"
    assert at_fidelity(spec, trial.user_attrs["params"])["max_iter"] == rounds
    assert at_fidelity(spec, {})["max_iter"] == 500


def test_boosting_climbs_to_the_full_resource_while_it_gains():
    """A signal of all six columns: every rung scores better than the one before, none is stopped."""
    trial, _ = _one_booster_trial(0, noise=0.0, signal=6)
    assert trial.user_attrs["resource"] == "max_iter=500", trial.user_attrs
    assert trial.user_attrs["refit_resource"] == "max_iter=500"
    assert "scored worse" not in (trial.user_attrs.get("note") or "")


def _cut_after_rung_0(model, objective: list | None = None):
    """One trial of ``model`` whose rungs above the first the budget cannot afford
    (``objective`` gets the search's ``Objective``)."""
    data = _binary_data(2, 900, noise=0.5)
    specs = {s.name: s for s in discover().specs.values() if s.name == model}
    budget = Budget(1000)
    for k in (1, 2):  # rungs 1 and 2 look unaffordable
        budget.record(f"{model}@{k}", 1e5, sum(len(tr) for tr, _ in data.splits))
    study = make_study(None, None, 0, make_pruner(3, 3))
    study.enqueue_trial({"model": model}, user_attrs={"default_config": 0})
    searched = Objective(data, specs, budget, 0, 1, rungs=3, eta=3)
    run_search(study, searched, budget, n_trials=1)
    if objective is not None:
        objective.append(searched)
    return study.trials[0]


def test_a_boosted_model_stopped_by_the_budget_is_complete_at_its_best_rung():
    trial = _cut_after_rung_0("hist_gradient_boosting")
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs["rung"] == 0
    rounds = trial.user_attrs["params"]["max_iter"]
    assert rounds < 500 and trial.user_attrs["refit_resource"] == f"max_iter={rounds}"
    assert "kept its best rung" in trial.user_attrs["note"]


def test_a_forest_stopped_by_the_budget_is_complete_at_its_last_rung():
    """Fewer trees is a complete forest of all the rows, refit with that many trees."""
    trial = _cut_after_rung_0("random_forest")
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs["rung"] == 0
    assert trial.user_attrs["params"]["n_estimators"] == 33  # 300 / 9
    assert trial.user_attrs["refit_resource"] == "n_estimators=33"
    assert "kept its last rung" in trial.user_attrs["note"]


def test_a_model_trained_on_in_place_and_stopped_by_the_budget_keeps_its_fold_models():
    """The forest adds trees in place from rung to rung; the cut rung trained none, so its
    fold models are still the kept rung's: the final model's fallback and an ensemble
    member whose refit does not fit (they were dropped, leaving the MLP out of ensembles)."""
    searched = []
    trial = _cut_after_rung_0("random_forest", searched)
    folds = searched[0].kept.of(trial.number)
    assert folds is not None and len(folds) == len(searched[0].data.splits)
    assert {len(p.named_steps["model"].estimators_) for p in folds} == {33}


def test_a_model_stopped_by_the_budget_on_a_fraction_of_the_rows_has_no_score():
    trial = _cut_after_rung_0("decision_tree")  # its refit would use all the rows: a different model
    assert trial.state == optuna.trial.TrialState.PRUNED and trial.user_attrs["status"] == "stopped"
    assert trial.user_attrs["rung"] == 0 and "refit_resource" not in trial.user_attrs


def test_the_refit_of_a_continued_model_is_priced_at_its_whole_training():
    """HGB's last rung only adds rounds, but its refit trains all of them from scratch."""
    data = _binary_data(3, 900)
    spec = discover().specs["hist_gradient_boosting"]
    rows = sum(len(tr) for tr, _ in data.splits)
    budget = Budget(100)  # reserves 10 s for the refit until a best model is known
    budget.record("hist_gradient_boosting@2", 10.0, rows)  # the last rung adds 10 s of rounds
    objective = Objective(data, {spec.name: spec}, budget, 0, 1, rungs=3, eta=3)
    seen = []
    budget.can_afford = lambda seconds: seen.append(seconds) or False
    previous = (167, 0.9, None, 90.0)  # 90 s of training behind the fold models at rung 1
    with pytest.raises(Exception, match="not enough time left"):
        objective._rung(spec, {}, 2, 500, [None] * 3, previous)
    refit_of_all = objective.refit_estimate(100.0)
    assert refit_of_all > budget.refit_reserve() > objective.refit_estimate(10.0), "the case that matters"
    assert seen == [pytest.approx(10.0 + refit_of_all - budget.refit_reserve())]


def test_a_continued_models_refit_is_priced_from_its_first_rung():
    """Continuing costs more than one fit (LightGBM re-predicts its training rows at each
    rung): the refit is priced at the first rung's seconds per round times the rounds it
    trains, never above the climb's own seconds."""
    data = _binary_data(3, 900)
    spec = discover().specs["hist_gradient_boosting"]
    budget = Budget(100)
    budget.record("hist_gradient_boosting@2", 10.0, sum(len(tr) for tr, _ in data.splits))
    objective = Objective(data, {spec.name: spec}, budget, 0, 1, rungs=3, eta=3)
    objective._unit_seconds = 0.2  # rung 0 trained 55 rounds in 11 s
    seen = []
    budget.can_afford = lambda seconds: seen.append(seconds) or False
    with pytest.raises(Exception, match="not enough time left"):
        objective._rung(spec, {}, 2, 500, [None] * 3, (167, 0.9, None, 190.0))  # 190 s of rungs behind
    assert seen == [pytest.approx(10.0 + objective.refit_estimate(0.2 * 500, spec) - budget.refit_reserve())]
    objective._unit_seconds = 1.0  # a first rung slowed by one-off costs: the climb's own seconds price it
    with pytest.raises(Exception, match="not enough time left"):
        objective._rung(spec, {}, 2, 500, [None] * 3, (167, 0.9, None, 190.0))
    assert seen[1] == pytest.approx(10.0 + objective.refit_estimate(200.0, spec) - budget.refit_reserve())
    assert refit_basis(150.0, 0.2, 200) == pytest.approx(40.0)  # the rounds kept
    assert refit_basis(60.0, 0.2, 500) == 60.0  # 500 rounds: 100 s, above the climb's own 60 s
    assert refit_basis(150.0, None, 200) == 150.0 and refit_basis(150.0, 0.2, None) == 150.0
    searched = []
    _cut_after_rung_0("hist_gradient_boosting", searched)
    assert searched[0]._unit_seconds > 0, "a real climb measures its first rung"


def test_a_last_rung_whose_fold_models_would_stand_in_is_not_priced_with_its_refit(monkeypatch):
    """Fold models of the rung below are kept (small): should the last rung's refit not fit,
    they stand in for it, averaged (``Budget.note_best``), so the rung is priced alone.
    Fold models too large to keep leave no stand-in: the refit is priced in again."""
    from automl.search import kept_folds

    data = _binary_data(3, 900)
    spec = discover().specs["hist_gradient_boosting"]
    budget = Budget(100)
    budget.record("hist_gradient_boosting@2", 10.0, sum(len(tr) for tr, _ in data.splits))
    objective = Objective(data, {spec.name: spec}, budget, 0, 1, rungs=3, eta=3)
    seen = []
    budget.can_afford = lambda seconds: seen.append(seconds) or False
    folds = [{"weights": np.zeros(100)} for _ in data.splits]  # 800 bytes each
    for limit in (10**6, 1000):  # 3 x 800 bytes x 500 / 167 rounds: kept under 1 MB, not under 1,000 bytes
        monkeypatch.setattr(kept_folds, "KEEP_FOLDS_BYTES", limit)
        with pytest.raises(Exception, match="not enough time left"):
            objective._rung(spec, {}, 2, 500, folds, (167, 0.9, None, 90.0))
    assert seen[0] == pytest.approx(10.0)
    assert seen[1] == pytest.approx(10.0 + objective.refit_estimate(100.0, spec) - budget.refit_reserve())


@pytest.mark.parametrize("model, starts", [("decision_tree", False), ("random_forest", True),
                                           ("hist_gradient_boosting", True)])
def test_a_trial_whose_whole_climb_cannot_fit_is_not_started(model, starts):
    """Earlier trials of the model took longer than the time left: its lower rungs would be
    wasted, unless a rung the budget cuts leaves a complete model (trees, rounds)."""
    data = _binary_data(4, 900)
    specs = {s.name: s for s in discover().specs.values() if s.name == model}
    budget = Budget(1000)
    objective = Objective(data, specs, budget, 0, 1, rungs=3, eta=3)
    objective._full_seconds[model] = [5000.0]
    study = make_study(None, None, 0, make_pruner(3, 3))
    study.enqueue_trial({"model": model})
    run_search(study, objective, budget, n_trials=1)
    trial = study.trials[0]
    if starts:
        assert trial.user_attrs.get("rung") is not None
    else:
        assert trial.user_attrs["status"] == "stopped" and trial.user_attrs.get("rung") is None
        assert f"whole {model} trial" in trial.user_attrs["error"]


def test_an_xgboost_fit_stops_adding_rounds_at_its_time_limit():
    pytest.importorskip("xgboost")
    from automl import BuildContext

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc"))
    y = (X["a"] > 0).astype(int).to_numpy()
    spec = discover().specs["xgboost"]
    cut = spec.build({}, BuildContext(Task.BINARY, time_limit=0.0)).fit(X, y)
    assert cut.get_booster().num_boosted_rounds() == 1, "it stops after the first round"
    whole = spec.build({}, BuildContext(Task.BINARY)).fit(X, y)  # the refit: no limit
    assert whole.get_booster().num_boosted_rounds() == 500


def test_a_continued_lightgbm_fit_stops_adding_rounds_at_its_time_limit():
    pytest.importorskip("lightgbm")
    from automl import BuildContext
    from automl.preprocessing.pipeline import at_fidelity, continue_training

    rng = np.random.default_rng(5)
    X = pd.DataFrame(rng.normal(size=(300, 3)), columns=list("abc"))
    y = (X["a"] + rng.normal(size=300) > 0).astype(int).to_numpy()  # noisy: every round finds a split
    spec = discover().specs["lightgbm"]
    first = spec.build(at_fidelity(spec, {}, 20), BuildContext(Task.BINARY)).fit(X, y)
    cut = continue_training(spec, first, X, y, 500, BuildContext(Task.BINARY, time_limit=0.0))
    assert cut.booster_.current_iteration() == 21, "one round past the first rung, then it stops"
    assert len(cut.predict_proba(X)) == len(X)
    whole = continue_training(spec, first, X, y, 500, BuildContext(Task.BINARY))
    assert whole.booster_.current_iteration() == 500


def test_a_boosted_rung_that_ends_past_the_deadline_is_not_finished():
    """The budget runs out while rung 1 trains (the fit may have stopped at its time
    limit): the trial keeps rung 0, and the refit trains rung 0's rounds."""
    data = _binary_data(6, 900, noise=0.5)
    spec = discover().specs["hist_gradient_boosting"]
    now = [0.0]
    budget = Budget(1000, clock=lambda: now[0])

    def build(params, ctx):  # rung 1's fits (warm-started: the same estimator) use up the budget
        model = spec.build(params, ctx)
        fit = model.fit

        def slow_fit(X, y):
            if model.max_iter > 56:
                now[0] = 2000.0
            return fit(X, y)

        model.fit = slow_fit
        return model

    slow = dataclasses.replace(spec, build=build)
    study = make_study(None, None, 0, make_pruner(3, 3))
    study.enqueue_trial({"model": spec.name}, user_attrs={"default_config": 0})
    run_search(study, Objective(data, {spec.name: slow}, budget, 0, 1, rungs=3, eta=3), budget, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.COMPLETE and trial.user_attrs["rung"] == 0
    assert "the budget ran out during hist_gradient_boosting at rung 1" in trial.user_attrs["note"]
    rounds = trial.user_attrs["params"]["max_iter"]
    assert rounds == 56 and trial.user_attrs["refit_resource"] == "max_iter=56"


def test_a_fit_that_breaks_the_warning_filters_does_not_break_them_for_the_search():
    """scikit-learn's threaded joblib workers can leave ``warnings.filters`` empty (not
    thread-safe before Python 3.14); every later warning would reach the user."""
    import warnings

    data = _binary_data(7, 300, cols=3)
    spec = discover().specs["decision_tree"]

    def build(params, ctx):
        model = spec.build(params, ctx)
        fit = model.fit

        def breaking_fit(X, y):
            warnings.resetwarnings()
            return fit(X, y)

        model.fit = breaking_fit
        return model

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="a filter of the user's")
        before = list(warnings.filters)
        study = make_study(None, None, 0, make_pruner(1, 3))
        objective = Objective(data, {spec.name: dataclasses.replace(spec, build=build)}, Budget(None), 0, 1)
        run_search(study, objective, Budget(None), n_trials=2)
        assert [t.user_attrs["status"] for t in study.trials] == ["ok", "ok"]
        assert warnings.filters == before


def test_a_lower_rung_far_slower_than_its_model_usually_is_stopped_at_its_probe_limit(monkeypatch):
    """A drawn configuration whose first rung would take many times its model's usual time
    (an MLP of 32 wide members: 60 s where others take 2) is given a time limit there and
    pruned when it reaches it; it does not count as a trial the budget cannot afford, so
    the search goes on with the next model."""
    import types

    from automl.search import climb as climb_module, objective as objective_module
    from automl.search.budget import SLOW_RUNG_SHARE

    data = _binary_data(7, 900, noise=0.5)
    specs = {s.name: s for s in discover().specs.values() if s.name in ("hist_gradient_boosting", "decision_tree")}
    hgb = specs["hist_gradient_boosting"]
    now, limits = [0.0], []
    for module in (objective_module, climb_module):  # the trial's clock and its rungs'
        monkeypatch.setattr(module, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))

    def build(params, ctx):  # its first rung's fits take 200 s of the (fake) wall clock
        limits.append(ctx.time_limit)
        model = hgb.build(params, ctx)
        fit = model.fit

        def slow_fit(X, y):
            now[0] += 200.0
            return fit(X, y)

        model.fit = slow_fit
        return model

    specs["hist_gradient_boosting"] = dataclasses.replace(hgb, build=build)
    budget = Budget(1000, clock=lambda: now[0])
    budget.record("hist_gradient_boosting@0", 1.0, sum(len(tr) for tr, _ in data.splits))  # usually 1 s
    study = make_study(None, None, 0, make_pruner(3, 3))
    enqueue_defaults(study, [specs["hist_gradient_boosting"], specs["decision_tree"]], profile=data.profile)
    searched = Objective(data, specs, budget, 0, 1, rungs=3, eta=3)
    run_search(study, searched, budget, n_trials=3)
    _, slow, nxt = study.trials[:3]
    assert limits[0] == pytest.approx(SLOW_RUNG_SHARE * 1000), "its first fold may take the probe limit, not 970 s"
    assert slow.state == optuna.trial.TrialState.PRUNED and slow.user_attrs["status"] == "pruned"
    assert "too slow a configuration for this budget" in slow.user_attrs["error"]
    assert searched._unaffordable == 0
    assert nxt.params["model"] == "decision_tree" and nxt.state == optuna.trial.TrialState.COMPLETE


def test_a_model_the_budget_cannot_afford_does_not_end_the_search_while_another_fits():
    """Many trials in a row that cannot afford their first rung (on letter at 60 s the
    boosters' queued defaults, after a first LightGBM of 22 s) do not stop the search while
    another model still fits; it stops once every model it may draw could not."""
    from automl.trial import MODEL_PARAM

    data = _binary_data(3, 300)
    specs = {s.name: s for s in discover().specs.values() if s.name in ("hist_gradient_boosting", "decision_tree")}
    rows = sum(len(tr) for tr, _ in data.splits)

    def search(expensive, queued):
        budget = Budget(100)
        for name in expensive:
            for k in range(3):
                budget.record(f"{name}@{k}", 1e4, rows)  # far more than the budget
        study = make_study(None, None, 0, make_pruner(3, 3))
        for name in queued:
            study.enqueue_trial({MODEL_PARAM: name})
        run_search(study, Objective(data, specs, budget, 0, 1, rungs=3, eta=3), budget, n_trials=30)
        return [(t.params[MODEL_PARAM], t.user_attrs.get("status")) for t in study.trials]

    trials = search(["hist_gradient_boosting"], ["hist_gradient_boosting"] * 7 + ["decision_tree"])
    assert trials[:8] == [("hist_gradient_boosting", "stopped")] * 7 + [("decision_tree", "ok")]
    none_fits = search(["hist_gradient_boosting", "decision_tree"], [])
    assert len(none_fits) < 30 and {status for _, status in none_fits} == {"stopped"}
    assert {model for model, _ in none_fits} == set(specs), "it stops once each model was tried"
