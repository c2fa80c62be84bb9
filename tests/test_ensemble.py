"""The final ensemble: greedy selection, stacking, the fallback, refits within the budget."""

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.final.combiners import TOLERANCE, Gain, _inner_folds, caruana_weights, fold_gains, nested_best, select
import automl.final.ensemble as ensemble_module
from automl.final.ensemble import PER_FAMILY, pick_candidates, single
from automl.search.budget import Budget
from automl.data.task import Task
from automl.search.record import TrialRecord
from ensemble_cases import AUC, _build, _candidates, _Clock, _complementary, _proba, _same_skill


def test_caruana_blends_complementary_models_and_ignores_noise():
    y, pa, pb, noise = _complementary()
    weights = caruana_weights([pa, pb, noise], y, AUC, Task.BINARY, seed=0)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[0] >= 0.2 and weights[1] >= 0.2 and weights[2] == 0
    np.testing.assert_array_equal(weights, caruana_weights([pa, pb, noise], y, AUC, Task.BINARY, seed=0))


def test_ensemble_of_complementary_models_beats_the_best_one():
    y, pa, pb, noise = _complementary()
    ens = _build(_candidates(y, pa, pb, noise), y)
    assert ens.method in ("caruana", "stacking")
    assert ens.oof_score > ens.single_best_score + 0.02
    assert {m["trial"] for m in ens.members} == {0, 1} and sum(ens.weights) == pytest.approx(1.0)
    assert ens.pipelines == ["best-pipeline", "pipeline-1"], "the best is not refit again"
    assert ens.scores.keys() == {"caruana", "stacking", "single", "single_nested"}


def test_every_family_s_best_is_a_candidate_before_any_family_s_second():
    # a long search: three strong families with many good configurations, and weaker ones
    # (vehicle at 300 s lost its Gaussian-mixture member, ranked eleventh, to second configurations)
    strong = [(m, -0.40 - 0.01 * i - 0.001 * k) for i, m in enumerate(["mlp", "xgboost", "catboost"]) for k in range(4)]
    weak = [(m, -0.60 - 0.01 * i) for i, m in enumerate(["svm", "logistic_regression", "gaussian_mixture", "knn"])]
    records = [TrialRecord(number=n, model=m, score=s, fit_time=1.0) for n, (m, s) in enumerate(strong + weak)]
    read = []

    def load(r):
        read.append(r.number)
        return np.full((3, 1), float(r.number))

    best = 1  # the refit best comes first even when another trial scored higher
    chosen = pick_candidates(records, lambda r: True, load, np.arange(3), best, lambda s: 2 * s, limit=8)
    models = [c.model for c in chosen]
    assert chosen[0].trial == best and len(chosen) == 8
    assert models[:7] == ["mlp", "xgboost", "catboost", "svm", "logistic_regression", "gaussian_mixture", "knn"]
    assert chosen[7].trial == 0  # then the families' second best, the best of them first
    assert max(models.count(m) for m in set(models)) <= PER_FAMILY
    assert read == [c.trial for c in chosen] and chosen[3].refit_seconds == 2.0
    assert (chosen[7].oof == 0).all()


def test_no_gain_falls_back_to_the_single_best():
    y, pa, _, noise = _complementary()
    ens = _build(_candidates(y, pa, pa.copy(), noise), y)
    assert ens.method == "single" and ens.pipelines == ["best-pipeline"] and ens.weights == (1.0,)
    assert "did not beat the best model" in ens.report


def test_a_blend_that_loses_on_the_inner_folds_falls_back_to_the_single_best():
    """Two models of the same skill: their blend scores a little higher on all OOF rows (an
    earlier rule, the overall gain above TOLERANCE, kept it), but not on the inner folds' mean."""
    y, pa, pb = _same_skill()
    *_, gain = select([pa, pb], y, AUC, Task.BINARY, 2, 0)
    ens = _build(_candidates(y, pa, pb), y)
    base = ens.single_best_score
    assert gain.overall > TOLERANCE * base and gain.folds == 3 and gain.mean <= 0, gain
    assert ens.method == "single" and ens.pipelines == ["best-pipeline"] and ens.weights == (1.0,)
    assert f"did not beat the best model out of fold: {gain}" in ens.report
    assert "(1 s.e. over 3 inner folds)" in ens.report


def test_a_gain_on_the_inner_folds_keeps_the_ensemble_and_reports_it():
    y, pa, pb, noise = _complementary()
    *_, gain = select([pa, pb, noise], y, AUC, Task.BINARY, 2, 0)
    assert gain.folds == 3 and gain.mean > 2 * gain.se and gain.overall > 0.02 and gain.holds(0.8)
    ens = _build(_candidates(y, pa, pb, noise), y)
    assert ens.method in ("caruana", "stacking") and ens.notes[-1] == str(gain)
    assert ens.oof_score - ens.scores["single_nested"] == pytest.approx(gain.overall)
    assert str(gain) == f"ensemble gain {gain.mean:.2g} ± {gain.se:.2g} (1 s.e. over 3 inner folds)"


def test_the_single_model_it_is_compared_with_is_chosen_nested_too():
    """Each inner test fold gets the candidate that leads on the other inner folds: a model that
    leads on all rows through one fold's luck is not credited with that luck there."""
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 450)
    folds = _inner_folds(y, Task.BINARY, 0)
    steady = _proba(np.clip(0.5 + 0.3 * (y - 0.5) + 0.25 * rng.normal(size=len(y)), 0.01, 0.99))
    lucky = _proba(np.clip(0.5 + 0.2 * (y - 0.5) + 0.25 * rng.normal(size=len(y)), 0.01, 0.99))
    lucky[folds[0][1]] = _proba(np.where(y[folds[0][1]] == 1, 0.99, 0.01))  # perfect on one fold only
    assert AUC.score(y, lucky, Task.BINARY) > AUC.score(y, steady, Task.BINARY), "the leader on all rows"
    chosen = nested_best([lucky, steady], y, folds, AUC, Task.BINARY)
    np.testing.assert_array_equal(chosen[folds[0][1]], steady[folds[0][1]])  # its lucky fold: chosen without it
    for tr, te in folds[1:]:
        np.testing.assert_array_equal(chosen[te], lucky[te])  # it leads on the parts that hold the lucky fold
    assert AUC.score(y, chosen, Task.BINARY) < AUC.score(y, lucky, Task.BINARY)
    scores, *_ = select([lucky, steady], y, AUC, Task.BINARY, 2, 0)
    assert scores["single_nested"] == pytest.approx(AUC.score(y, chosen, Task.BINARY))


def test_folds_the_metric_cannot_score_are_left_out_of_the_gain():
    y = np.array([0, 1] * 6 + [0] * 4)
    good, bad = _proba(np.where(y == 1, 0.8, 0.2)), _proba(np.full(len(y), 0.5))
    rows = np.arange(len(y))
    folds = [(rows[6:], rows[:6]), (rows[:6], rows[6:12]), (rows[:12], rows[12:])]  # the last: one class
    np.testing.assert_allclose(fold_gains(good, bad, y, folds, AUC, Task.BINARY), [0.5, 0.5])  # nan: left out

    class Strict:  # a metric that raises instead
        def score(self, y_true, pred, task):
            if len(np.unique(y_true)) < 2:
                raise ValueError("one class")
            return AUC.score(y_true, pred, task)

    np.testing.assert_allclose(fold_gains(good, bad, y, folds, Strict(), Task.BINARY), [0.5, 0.5])
    assert not Gain(0.1, 0.1, float("nan"), 1).holds(0.5), "no standard error from one fold"
    assert not Gain(0.1, -0.01, 0.02, 3).holds(0.5), "a loss on the inner folds' mean"
    assert not Gain(-0.01, 0.03, 0.02, 3).holds(0.5), "a loss on all OOF rows"
    assert not Gain(0.00001, 0.03, 0.02, 3).holds(0.5), "a gain within TOLERANCE"
    assert Gain(0.01, 0.03, 0.02, 3).holds(0.5) and Gain(0.01, 0.01, 0.02, 3).holds(0.5), "within 1 s.e.: kept"


def test_a_member_that_cannot_be_refit_in_time_is_dropped():
    y, pa, pb, noise = _complementary()
    clock = _Clock()
    budget = Budget(10.0, clock=clock)
    clock.now = 8.0  # 2 s left, a refit needs about 5
    ens = _build(_candidates(y, pa, pb, noise, refit_seconds=5.0), y, budget)
    assert ens.method == "single"
    assert ("left out trial 1 (model1), trial 2 (model2): refit would take longer than the 1.5 s left "
            "(less about 0.3 s to select the ensemble)") in ens.report


def test_a_refit_must_fit_in_what_the_selection_leaves():
    """2 s left: a refit of 1.9 s would fit now, but not after selecting the ensemble (about
    0.3 s for so few rows): that candidate is left out before the selection, instead of being chosen, then
    dropped, with no time left to choose again (vehicle at 60 s lost its ensemble so). The
    candidate whose fold models were kept joins without a refit."""
    y, pa, pb, noise = _complementary()
    clock = _Clock()
    budget = Budget(10.0, clock=clock)
    clock.now = 7.5  # 2 s left before the margin
    candidates = _candidates(y, pa, pb, noise)
    candidates[1].folds, candidates[1].refit_seconds = ["fold-0", "fold-1"], 5.0
    candidates[2].refit_seconds = 1.9

    def refit(trial):
        raise AssertionError("nothing is refit: trial 1 has its fold models, trial 2 is left out")

    ens = _build(candidates, y, budget, refit)
    assert [m["trial"] for m in ens.members] == [0, 1]
    assert "left out trial 2 (model2): refit would take longer than the 2.0 s left (less about 0.3 s" in ens.report
    assert "dropped" not in ens.report and "chosen again" not in ens.report


def test_a_member_that_cannot_be_refit_in_time_joins_as_its_fold_models_averaged():
    """When the search kept a candidate's fold models (``Candidate.folds``), a refit that
    does not fit in the time left is replaced by them, averaged, and the notes say so."""
    from automl.final.fold_models import FoldAverage

    y, pa, pb, noise = _complementary()
    clock = _Clock()
    budget = Budget(10.0, clock=clock)
    clock.now = 8.0  # 2 s left, a refit needs about 5
    candidates = _candidates(y, pa, pb, noise, refit_seconds=5.0)
    candidates[1].folds = ["fold-0", "fold-1"]

    def refit(trial):
        raise AssertionError("no time to refit: nothing is refit")

    ens = _build(candidates, y, budget, refit)
    assert ens.method != "single" and [m["trial"] for m in ens.members] == [0, 1]
    member = ens.pipelines[1]
    assert isinstance(member, FoldAverage) and member.pipelines == ["fold-0", "fold-1"]
    assert "trial 1 (model1) is its 2 fold model(s) averaged: its refit would take about 5.0 s" in ens.report
    assert "left out trial 2 (model2)" in ens.report


def test_a_member_whose_refit_fails_is_dropped_and_the_rest_is_chosen_again():
    y, pa, pb, noise = _complementary()
    rng = np.random.default_rng(1)
    pb, pc = (_proba(np.clip(pb[:, 1] + 0.2 * rng.normal(size=len(y)), 0.01, 0.99)) for _ in range(2))  # two noisy b

    def refit(trial):
        if trial == 1:
            raise RuntimeError("boom")
        return f"pipeline-{trial}"

    ens = _build(_candidates(y, pa, pb, pc, noise), y, refit=refit)
    assert "its refit failed (RuntimeError: boom)" in ens.report and "chosen again" in ens.report
    assert 1 not in {m["trial"] for m in ens.members} and sum(ens.weights) == pytest.approx(1.0)


def test_members_refit_until_time_runs_out_then_the_rest_is_chosen_again():
    y, pa, pb, noise = _complementary()
    rng = np.random.default_rng(1)
    pb, pc = (_proba(np.clip(pb[:, 1] + 0.2 * rng.normal(size=len(y)), 0.01, 0.99)) for _ in range(2))
    clock = _Clock()

    def slow_refit(trial):
        clock.now += 8.5  # far longer than estimated: no time for a second member
        return f"pipeline-{trial}"

    ens = _build(_candidates(y, pa, pb, pc, noise, refit_seconds=1.2), y, Budget(10.0, clock=clock), slow_refit)
    assert "its refit would take about 1.2 s, 1.0 s left" in ens.report and "chosen again without" in ens.report
    assert ens.method != "single" and len(ens.members) == 2 and sum(ens.weights) == pytest.approx(1.0)
    assert ens.pipelines == ["best-pipeline", f"pipeline-{ens.members[1]['trial']}"]


def test_single_predicts_with_the_best_pipeline():
    class Const:
        classes_ = np.array([0, 1])

        def predict_proba(self, X):
            return np.tile([0.25, 0.75], (len(X), 1))

    ens = single(3, "m", Const(), 0.9)
    np.testing.assert_allclose(ens.predict_scores(pd.DataFrame({"x": [1, 2]}), 2), [[0.25, 0.75]] * 2)
    assert ens.trial_weights() == {3: 1.0}


def test_stacking_on_multiclass_probabilities():
    from automl.final.combiners import Stacker

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    good = np.eye(3)[y] * 0.6 + 0.4 * rng.dirichlet(np.ones(3), 300)
    preds = [good, rng.dirichlet(np.ones(3), 300)]
    stacker = Stacker(Task.MULTICLASS, 3).fit(preds, y)
    proba = stacker.combine(preds)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba.argmax(axis=1) == y).mean() > 0.9
    shares = stacker.shares()
    assert shares.sum() == pytest.approx(1.0) and shares[0] > shares[1]


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
def test_the_stackers_own_arithmetic_equals_scikit_learns(task):
    """``combine`` computes the meta-learner's output from its coefficients; it equals the
    fitted scikit-learn pipeline's (a class absent from the rows keeps a zero column)."""
    from automl.final.combiners import Stacker
    from automl.preprocessing.pipeline import predict_scores

    rng = np.random.default_rng(1)
    n_classes = {Task.BINARY: 2, Task.MULTICLASS: 4, Task.REGRESSION: 0}[task]
    if task.is_classification:
        y = rng.choice([0, 1, 3] if task is Task.MULTICLASS else [0, 1], 400)
        preds = [rng.dirichlet(np.ones(n_classes), 400) * 0.5 + np.eye(n_classes)[y] * 0.5 for _ in range(3)]
    else:
        y = rng.normal(size=400)
        preds = [y + rng.normal(scale=s, size=400) for s in (0.3, 0.5, 1.0)]
    stacker = Stacker(task, n_classes).fit(preds, y)
    Z = stacker.features(preds)
    expected = (predict_scores(stacker.meta_, Z, n_classes) if n_classes
                else np.asarray(stacker.meta_.predict(Z), dtype=float))
    got = stacker.combine(preds)
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)
    if task is Task.MULTICLASS:
        assert (got[:, 2] == 0).all()


@pytest.fixture(scope="module")
def blood_fit():
    from automl.datasets import load

    data = load("blood_transfusion")
    train = data.frame.sample(frac=0.75, random_state=0)
    test = data.frame.drop(train.index)
    kwargs = dict(time_budget=None, n_trials=6, models=["logistic_regression", "knn", "decision_tree"],
                  cv=3, seed=0, verbose=0, infer_limit=None)  # no clock decides: deterministic
    return AutoML(**kwargs).fit(train, data.target), train, test, data.target


def test_fit_builds_an_ensemble_shown_in_the_leaderboard(blood_fit):
    aml, _, test, _ = blood_fit
    ens = aml.ensemble_
    assert ens.method in ("caruana", "stacking", "single") and "ensemble" in aml.timings_
    assert ens.single_best_score == pytest.approx(aml.best_score_)
    assert ens.method == "single" or ens.oof_score > ens.single_best_score
    board = aml.leaderboard()
    members = board[board["weight"] > 0]
    assert dict(zip(members["trial"], members["weight"])) == pytest.approx(ens.trial_weights())
    assert board["weight"].sum() == pytest.approx(1.0) and aml.best_trial_ in set(members["trial"])
    timed = board[board["predict_1_ms"].notna()]
    assert set(timed["trial"]) == set(members["trial"]), "the pipelines refit on all rows are timed, no other"
    assert (timed["predict_1_ms"] > 0).all() and (timed["predict_1000_ms"] > 0).all()
    proba = aml.predict_proba(test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert (proba >= 0).all() and aml.score(test) > 0.65


def test_ensemble_pickles_and_is_deterministic(blood_fit, tmp_path):
    aml, train, test, target = blood_fit
    aml.save(tmp_path / "m.automl")
    loaded = AutoML.load(tmp_path / "m.automl")
    np.testing.assert_array_equal(loaded.predict_proba(test), aml.predict_proba(test))
    assert loaded.ensemble_.members == aml.ensemble_.members
    again = AutoML(**aml.get_params()).fit(train, target)
    assert again.ensemble_.members == aml.ensemble_.members
    np.testing.assert_array_equal(again.predict_proba(test), aml.predict_proba(test))


def test_the_run_report_says_why_an_ensemble_was_or_was_not_kept(blood_fit):
    from automl.report.run_report import build_report, format_summary

    aml = blood_fit[0]
    assert "ensemble gain" in aml.ensemble_.report and "inner fold" in aml.ensemble_.report
    report = build_report(aml, importances_note="not computed here")
    assert aml.ensemble_.notes[-1] in report["ensemble"]["note"]
    assert aml.ensemble_.notes[-1] in format_summary(report)


def test_the_run_report_of_a_single_model_gives_the_reason():
    from types import SimpleNamespace

    from automl.report.run_report import SINGLE_MODEL_NOTE, ensemble_summary

    y, pa, pb = _same_skill()
    summary = ensemble_summary(SimpleNamespace(ensemble_=_build(_candidates(y, pa, pb), y)))
    assert summary["kind"] == "single"
    assert summary["note"].startswith(f"{SINGLE_MODEL_NOTE}; an ensemble did not beat the best model out of fold")


def test_the_html_report_gives_the_reason_for_the_final_model():
    from types import SimpleNamespace

    from automl.report.html_report import _final_model_section
    from automl.report.run_report import ensemble_summary

    y, pa, pb = _same_skill()
    summary = ensemble_summary(SimpleNamespace(ensemble_=_build(_candidates(y, pa, pb), y)))
    best = {"model": "a", "trial": 0, "params": {}}
    section = _final_model_section({"ensemble": summary, "best": best})
    assert summary["notes"] and "an ensemble did not beat the best model out of fold" in section


def test_a_long_search_offers_more_candidates_than_a_short_one():
    # twelve families: a short budget takes the eight best families' best, a long one all twelve
    families = [f"model_{i}" for i in range(12)]
    records = [TrialRecord(number=n, model=m, score=-0.4 - 0.01 * n, fit_time=1.0) for n, m in enumerate(families)]
    load = lambda r: np.zeros((3, 1))  # noqa: E731
    for budget, n in [(60, ensemble_module.MAX_CANDIDATES), (300, ensemble_module.LONG_CANDIDATES),
                      (None, ensemble_module.LONG_CANDIDATES)]:
        limit = ensemble_module.max_candidates(budget)
        chosen = pick_candidates(records, lambda r: True, load, np.arange(3), 0, lambda s: s, limit=limit)
        assert limit == n and [c.model for c in chosen] == families[:n]
    assert ensemble_module.MAX_CANDIDATES < ensemble_module.LONG_CANDIDATES
