"""The final ensemble against the latency limit: members too slow to predict one row, fold
models averaged, choosing again or keeping the last choice, and the leaderboard's times."""

import numpy as np
import pandas as pd
import pytest

from automl.final.ensemble import build_ensemble
from automl.final.fold_models import FoldAverage
from automl.final.latency import BATCH_ROWS, Latency, predict_times
from automl.search.budget import Budget
from automl.data.task import Task
from ensemble_cases import AUC, _build, _candidates, _Clock, _complementary, _noisier


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
    pc = _noisier(pb)  # a noisier, faster b
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
    pc = _noisier(pb)

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
    pc = _noisier(pb)
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

    def keep(members, pipes, latency=None, failed=frozenset()):
        return module._last_choice_without("caruana", weights, members, failed, pipes, y, AUC, Task.BINARY, 2,
                                           base, 0, latency, ["no time left to choose again without trial 1"])

    kept = keep(candidates, pipelines)
    assert kept is not None and [m["trial"] for m in kept.members] == [0, 1, 2]
    assert [m["weight"] for m in kept.members] == pytest.approx([0.5, 0.3, 0.2])
    assert keep(candidates, fewer) is None, "the best blended with noise does not beat the best"
    assert keep(candidates, pipelines, failed={1}) is None, "trial 1 failed the choice: left out"
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


class _BagLatency(_KnownLatency):
    """A fold average takes its number of fold models times ``each`` seconds a row."""

    each = 0.002

    def of(self, trial, pipeline):
        bag = getattr(pipeline, "pipelines", None)
        self.seconds[trial] = self.known[trial] if bag is None else len(bag) * self.each
        return self.seconds[trial]


@pytest.mark.parametrize("other_ms, kept", [(6, 4), (12, None)])
def test_a_bagged_best_gives_up_fold_models_before_a_chosen_member_is_left_out(other_ms, kept):
    """Over the limit, a best model that is fold models averaged keeps fewer of them (down to
    half) when that alone is enough; else the slowest other member is left out, the bag whole."""
    y, pa, pb, noise = _complementary()
    bag = FoldAverage([f"fold-{i}" for i in range(5)], 2)  # 10 ms a row
    latency = _BagLatency({1: other_ms / 1000, 2: 0.0005}, limit=0.015)
    ens = build_ensemble(_candidates(y, pa, pb, noise), bag, y, AUC, Task.BINARY, 2, 0, Budget(None),
                         lambda trial: f"pipeline-{trial}", latency)
    members = {m["trial"] for m in ens.members}
    if kept:
        assert f"trial 0 keeps {kept} of its 5 fold models: with all of them the ensemble took" in ens.report
        assert 1 in members and ens.pipelines[0].pipelines == [f"fold-{i}" for i in range(kept)]
        assert sum(latency.seconds[t] for t in members) <= 0.015
    else:
        assert "keeps" not in ens.report and "left out trial 1 (model1, 12 ms a row)" in ens.report
        assert 1 not in members and bag.pipelines == [f"fold-{i}" for i in range(5)]
        assert ens.method == "single" or ens.pipelines[0] is bag
