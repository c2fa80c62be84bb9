"""The final ensemble: greedy selection, stacking, the fallback, refits within the budget."""

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.final.combiners import TOLERANCE, Gain, caruana_weights, fold_gains, select
from automl.final.ensemble import Candidate, build_ensemble, single
from automl.final.latency import BATCH_ROWS, Latency, predict_times
from automl.metrics import resolve_metric
from automl.search.budget import Budget
from automl.data.task import Task

AUC = resolve_metric("roc_auc", Task.BINARY)


def _proba(p1):
    return np.column_stack([1 - p1, p1])


def _complementary(n=600, seed=0):
    """Two models, each seeing one half of the signal: their blend beats both."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (a + b + 0.3 * rng.normal(size=n) > 0).astype(int)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    return y, _proba(sigmoid(2 * a)), _proba(sigmoid(2 * b)), _proba(sigmoid(2 * rng.normal(size=n)))


def _same_skill(n=600, seed=21):
    """Two models with the same skill (the signal plus a shared error), each with a little
    noise of its own, one a bit noisier: any gain of their blend is noise. Best first."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (z + rng.normal(size=n) > 0).astype(int)
    shared = 0.5 * rng.normal(size=n)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    pa, pb = (_proba(sigmoid(2 * (z + shared + s * rng.normal(size=n)))) for s in (0.15, 0.2))
    return (y, pa, pb) if AUC.score(y, pa, Task.BINARY) >= AUC.score(y, pb, Task.BINARY) else (y, pb, pa)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _build(candidates, y, budget=None, refit=None, latency=None):
    return build_ensemble(candidates, "best-pipeline", y, AUC, Task.BINARY, 2, 0, budget or Budget(None),
                          refit or (lambda trial: f"pipeline-{trial}"), latency)


def _candidates(y, *preds, refit_seconds=None):
    return [Candidate(i, f"model{i}", AUC.score(y, p, Task.BINARY), p, refit_seconds) for i, p in enumerate(preds)]


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
    assert ens.scores.keys() == {"caruana", "stacking", "single"}


def test_no_gain_falls_back_to_the_single_best():
    y, pa, _, noise = _complementary()
    ens = _build(_candidates(y, pa, pa.copy(), noise), y)
    assert ens.method == "single" and ens.pipelines == ["best-pipeline"] and ens.weights == (1.0,)
    assert "did not beat the best model" in ens.report


def test_a_gain_within_noise_falls_back_to_the_single_best():
    y, pa, pb = _same_skill()
    ens = _build(_candidates(y, pa, pb), y)
    base = ens.single_best_score
    assert max(ens.scores["caruana"], ens.scores["stacking"]) - base > 5 * TOLERANCE * base, "the old rule kept it"
    assert ens.method == "single" and ens.pipelines == ["best-pipeline"] and ens.weights == (1.0,)
    *_, gain = select([pa, pb], y, AUC, Task.BINARY, 2, 0)
    assert gain.overall > 0 and gain.folds == 3 and gain.mean <= gain.se
    assert f"did not beat the best model out of fold beyond noise: {gain}" in ens.report
    assert "(1 s.e. over 3 inner folds)" in ens.report


def test_a_gain_beyond_noise_keeps_the_ensemble_and_reports_it():
    y, pa, pb, noise = _complementary()
    *_, gain = select([pa, pb, noise], y, AUC, Task.BINARY, 2, 0)
    assert gain.folds == 3 and gain.mean > 2 * gain.se and gain.overall > 0.02 and gain.beyond_noise(0.8)
    ens = _build(_candidates(y, pa, pb, noise), y)
    assert ens.method in ("caruana", "stacking") and ens.notes[-1] == str(gain)
    assert ens.oof_score - ens.single_best_score == pytest.approx(gain.overall)
    assert str(gain) == f"ensemble gain {gain.mean:.2g} ± {gain.se:.2g} (1 s.e. over 3 inner folds)"


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
    assert not Gain(0.1, 0.1, float("nan"), 1).beyond_noise(0.5), "no standard error from one fold"
    assert not Gain(0.1, 0.01, 0.02, 3).beyond_noise(0.5) and not Gain(-0.01, 0.03, 0.02, 3).beyond_noise(0.5)
    assert Gain(0.01, 0.03, 0.02, 3).beyond_noise(0.5)


def test_a_member_that_cannot_be_refit_in_time_is_dropped():
    y, pa, pb, noise = _complementary()
    clock = _Clock()
    budget = Budget(10.0, clock=clock)
    clock.now = 8.0  # 2 s left, a refit needs about 5
    ens = _build(_candidates(y, pa, pb, noise, refit_seconds=5.0), y, budget)
    assert ens.method == "single"
    assert ("left out trial 1 (model1), trial 2 (model2): refit would take longer than the 1.5 s left "
            "(less about 1.0 s to select the ensemble)") in ens.report


def test_a_refit_must_fit_in_what_the_selection_leaves():
    """2 s left: a refit of 1.5 s would fit now, but not after selecting the ensemble (about
    1 s here): that candidate is left out before the selection, instead of being chosen, then
    dropped, with no time left to choose again (vehicle at 60 s lost its ensemble so). The
    candidate whose fold models were kept joins without a refit."""
    y, pa, pb, noise = _complementary()
    clock = _Clock()
    budget = Budget(10.0, clock=clock)
    clock.now = 7.5  # 2 s left before the margin
    candidates = _candidates(y, pa, pb, noise)
    candidates[1].folds, candidates[1].refit_seconds = ["fold-0", "fold-1"], 5.0
    candidates[2].refit_seconds = 1.5

    def refit(trial):
        raise AssertionError("nothing is refit: trial 1 has its fold models, trial 2 is left out")

    ens = _build(candidates, y, budget, refit)
    assert [m["trial"] for m in ens.members] == [0, 1]
    assert "left out trial 2 (model2): refit would take longer than the 2.0 s left (less about 1.0 s" in ens.report
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


class _KnownLatency(Latency):
    """Seconds per row given per trial instead of measured."""

    def __init__(self, seconds, limit):
        super().__init__(row=None, n_classes=2, limit=limit)
        self.known = seconds

    def of(self, trial, pipeline):
        self.seconds[trial] = self.known[trial]
        return self.seconds[trial]


def test_members_too_slow_to_predict_are_left_out_slowest_first():
    y, pa, pb, noise = _complementary()
    rng = np.random.default_rng(1)
    pc = _proba(np.clip(pb[:, 1] + 0.2 * rng.normal(size=len(y)), 0.01, 0.99))  # a noisier, faster b
    latency = _KnownLatency({0: 0.010, 1: 0.030, 2: 0.002, 3: 0.001}, limit=0.02)
    ens = _build(_candidates(y, pa, pb, pc, noise), y, latency=latency)
    assert "left out trial 1 (model1, 30 ms a row): the ensemble took 4" in ens.report
    assert "over the 20 ms limit" in ens.report and "chosen again without trial 1" in ens.report
    assert ens.method != "single" and 1 not in {m["trial"] for m in ens.members}
    assert sum(latency.seconds[m["trial"]] for m in ens.members) <= 0.02
    slow_best = _KnownLatency({0: 0.5, 1: 0.030, 2: 0.002, 3: 0.001}, limit=0.02)
    ens = _build(_candidates(y, pa, pb, pc, noise), y, latency=slow_best)
    assert ens.method == "single" and ens.pipelines == ["best-pipeline"], "the best model is always kept"


def test_fold_averages_too_slow_beside_the_best_are_refit_before_choosing_or_left_out():
    """A candidate whose refit does not fit in the time left joins as its fold models
    averaged (K predictions a row). When those with the best model alone break the latency
    limit, it is refit before choosing if that fits with the selection, else left out:
    chosen as an average, it would be left out after the choice, and choosing again might
    find no time left (vehicle, titanic at 60 s: the single best model)."""
    y, pa, pb, noise = _complementary()
    pc = _proba(np.clip(pb[:, 1] + 0.2 * np.random.default_rng(1).normal(size=len(y)), 0.01, 0.99))

    class FoldLatency(_KnownLatency):
        def _measure(self, pipeline, calls=None):
            return self.known[pipeline]

    def build(now, refit_seconds):
        clock = _Clock()
        budget = Budget(10.0, clock=clock)
        clock.now = now
        candidates = _candidates(y, pa, pb, pc, noise, refit_seconds=refit_seconds)
        candidates[1].folds = ["slow-fold"] * 10
        candidates[2].folds = ["fast-fold"] * 2
        known = {0: 0.005, 1: 0.003, 2: 0.002, "slow-fold": 0.002, "fast-fold": 0.001}
        refits = []
        refit = lambda trial: refits.append(trial) or f"pipeline-{trial}"  # noqa: E731
        return _build(candidates, y, budget, refit, FoldLatency(known, limit=0.015)), refits

    ens, refits = build(now=8.0, refit_seconds=5.0)  # 2 s left: no refit fits
    assert ("left out trial 1 (model1): its 10 fold models averaged take 20 ms a row: with the best model, "
            "over the 15 ms limit, and it could not be refit before choosing") in ens.report
    assert "chosen again" not in ens.report and "the ensemble took" not in ens.report and refits == []
    assert ens.method != "single" and [m["trial"] for m in ens.members] == [0, 2]
    assert ens.pipelines[1].pipelines == ["fast-fold"] * 2

    ens, refits = build(now=0.0, refit_seconds=0.5)  # 10 s left: refit before choosing
    assert "refit trial 1 (model1) before choosing: its 10 fold models averaged take 20 ms" in ens.report
    assert refits[0] == 1 and "chosen again" not in ens.report and 1 in {m["trial"] for m in ens.members}
    assert ens.pipelines[[m["trial"] for m in ens.members].index(1)] == "pipeline-1"


def test_no_second_choice_without_the_time_the_first_took(monkeypatch):
    """A member over the latency limit is left out and the ensemble chosen again only when,
    taking as long as the first choice, that ends at most 5% of the budget past the deadline."""
    import automl.final.ensemble as module

    y, pa, pb, noise = _complementary()
    pc = _proba(np.clip(pb[:, 1] + 0.2 * np.random.default_rng(1).normal(size=len(y)), 0.01, 0.99))
    clock, real, selections = _Clock(), module.select, []

    def slow_select(*args, **kwargs):
        clock.now += 3.0
        selections.append(clock.now)
        return real(*args, **kwargs)

    class SlowCheck(_KnownLatency):
        def over_limit(self, *args, **kwargs):
            clock.now += self.spent
            return super().over_limit(*args, **kwargs)

    monkeypatch.setattr(module, "select", slow_select)
    # 10 s: 3 to select, then 6, 2.7 or 2 s to the deadline (a second 3 s choice may end 0.5 s past it)
    for spent, chosen_again in ((1.0, True), (4.3, True), (5.0, False)):
        clock.now, selections[:] = 0.0, []
        latency = SlowCheck({0: 0.010, 1: 0.030, 2: 0.002, 3: 0.001}, limit=0.02)
        latency.spent = spent
        ens = _build(_candidates(y, pa, pb, pc, noise), y, Budget(10.0, clock=clock), latency=latency)
        assert ("chosen again without trial 1" in ens.report) == chosen_again, ens.report
        if not chosen_again:  # the first choice without trial 1, its stacker refit on the rest
            assert "no time left to choose again without trial 1" in ens.report
            assert "kept the last choice without it" in ens.report and ens.method == "stacking"
            assert 1 not in {m["trial"] for m in ens.members} and len(ens.members) >= 2
            assert ens.oof_score > ens.single_best_score
            assert selections == [3.0], "no second selection"


def test_without_time_to_choose_again_the_last_choice_is_kept_only_while_it_beats_the_best():
    """No time to choose again: the last choice without the member that failed is kept when
    it still beats the best model on all OOF rows, else the single best model."""
    import automl.final.ensemble as module
    from automl.final.combiners import WeightedAverage

    y, pa, pb, noise = _complementary()
    candidates = _candidates(y, pa, pb, noise)
    pipelines = {0: "best-pipeline", 1: "pipeline-1", 2: "pipeline-2"}  # trial 1's refit failed: not here
    fewer = {0: "best-pipeline", 2: "pipeline-2"}
    weights = WeightedAverage(np.array([0.5, 0.3, 0.2]))
    base = candidates[0].score

    def keep(members, pipes, latency=None):
        return module._last_choice_without("caruana", weights, members, pipes, y, AUC, Task.BINARY, 2, base, 0,
                                           latency, ["no time left to choose again without trial 1 (model1)"])

    kept = keep(candidates, pipelines)
    assert kept is not None and [m["trial"] for m in kept.members] == [0, 1, 2]
    assert [m["weight"] for m in kept.members] == pytest.approx([0.5, 0.3, 0.2])
    assert keep(candidates, fewer) is None, "the best blended with noise does not beat the best"
    slow_b = _KnownLatency({0: 0.010, 1: 0.030, 2: 0.002}, limit=0.02)
    assert keep(candidates, pipelines, slow_b) is None, "trial 1 too slow: the rest is the best and noise"
    fast = keep(candidates[:2], pipelines, _KnownLatency({0: 0.010, 1: 0.005}, limit=0.02))
    assert [m["weight"] for m in fast.members] == pytest.approx([0.625, 0.375]), "renormalised"
    assert fast.oof_score > base and fast.pipelines == ["best-pipeline", "pipeline-1"]


def test_predict_times_are_measured_while_the_budget_allows():
    class Counting:
        classes_ = np.array([0, 1])

        def __init__(self):
            self.rows = []

        def predict_proba(self, X):
            self.rows.append(len(X))
            return np.tile([0.5, 0.5], (len(X), 1))

    X = pd.DataFrame({"a": [1.0, 2.0, 3.0]})
    fast, known = Counting(), Counting()
    latency = Latency(X.iloc[:1], 2, limit=None)
    latency.seconds[7] = 0.004  # trial 7 was timed by the latency trimming already
    times = predict_times({3: fast, 7: known}, X, 2, latency, time_left=lambda: float("inf"))
    assert set(fast.rows) == {1, BATCH_ROWS}, "one row, then a batch of the training rows repeated"
    assert times[7][0] == pytest.approx(4.0) and known.rows.count(1) == 0, "a known one-row time is reused"
    assert all(ms > 0 for pair in times.values() for ms in pair)
    late = Counting()
    assert np.isnan(predict_times({3: late}, X, 2, Latency(X.iloc[:1], 2, None), time_left=lambda: 0.5)[3]).all()
    assert late.rows == [], "no time left: nothing is predicted"


def test_fold_averages_are_timed_as_one_fold_model_times_their_number():
    from sklearn.linear_model import LogisticRegression

    X = pd.DataFrame({"a": np.arange(60.0), "b": np.arange(60.0) % 7})
    model = LogisticRegression().fit(X, (X["a"] > 30).astype(int))
    latency = Latency(X.iloc[:1], 2, limit=1.0)
    slow = latency.too_slow_beside(0, model, {1: [model] * 3, 2: [model] * 100_000})  # 100,000 x ~0.1 ms
    assert set(slow) == {2} and slow[2] > 1.0
    assert set(latency.seconds) == {0}, "only the best model's time is kept"
    assert Latency(X.iloc[:1], 2, limit=None).too_slow_beside(0, model, {2: [model] * 100_000}) == {}


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
