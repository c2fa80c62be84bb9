"""A forest whose refit does not fit in the time left joins the ensemble with fewer trees."""

import numpy as np
import pandas as pd
import pytest

from automl import AutoML, Fidelity
from automl.exceptions import PluginError
from automl.final.ensemble import _selection_estimate
from automl.final.shrink import LEAST_SHARE, least_share
from automl.registry import discover
from automl.search.budget import Budget
from ensemble_cases import _build, _candidates, _Clock, _complementary


def _late(least=0.1):
    """10 s budget, 2.5 s left before the 0.5 s margin, about 1 s to select: 1 s for refits.
    Trial 1 (the complement of the best) needs 2 s whole; trial 2 (noise) 0.2 s."""
    y, pa, pb, noise = _complementary()
    clock = _Clock()
    budget = Budget(10.0, clock=clock)
    clock.now = 7.5
    candidates = _candidates(y, pa, pb, noise, refit_seconds=2.0)
    candidates[2].refit_seconds = 0.2
    candidates[1].least_share = least
    shares = {}

    def refit(trial, share=1.0):
        shares[trial] = share
        return f"pipeline-{trial}-{share:.2f}"

    return _build(candidates, y, budget, refit), shares


def test_a_late_averaged_member_is_refit_at_the_share_of_its_resource_that_fits():
    ens, shares = _late()
    # 1 s for refits, 0.2 s of it for trial 2's whole refit, half the rest kept: 0.4 s of trial 1's 2 s
    assert shares[1] == pytest.approx(0.2)
    assert "trial 1 (model1) is refit at 20% of its full resource: the whole refit would take about 2.0 s" in ens.report
    assert ens.method != "single" and 1 in {m["trial"] for m in ens.members}, ens.report
    assert "pipeline-1-0.20" in ens.pipelines
    assert "left out trial 1" not in ens.report


def test_a_member_that_would_need_less_than_its_least_share_is_still_left_out():
    ens, shares = _late(least=LEAST_SHARE)
    assert 1 not in shares and "left out trial 1 (model1): refit would take longer" in ens.report
    assert "is refit at" not in ens.report


def test_only_averaged_fidelities_shrink_and_never_below_their_low():
    specs = discover().specs
    forest = specs["random_forest"]
    assert forest.fidelity.averaged and specs["extra_trees"].fidelity.averaged
    assert least_share(forest, {}) == LEAST_SHARE  # 300 trees: a quarter is 75
    assert least_share(forest, {"n_estimators": 20}) == pytest.approx(8 / 20)  # its low, 8 trees
    for name in ("lightgbm", "xgboost", "hist_gradient_boosting", "logistic_regression", "knn"):
        assert least_share(specs[name], {}) is None, name
    with pytest.raises(PluginError, match="averaged"):
        Fidelity("n_estimators", low=10, high=100, param="n_estimators", early_stopping=True, averaged=True)
    with pytest.raises(PluginError, match="averaged"):
        Fidelity("sample_fraction", low=0.1, high=1.0, averaged=True)


def _frame(n=400, seed=0):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(rng.normal(size=(n, 4)), columns=[f"x{i}" for i in range(4)])
    z = X["x0"] * X["x1"] + 0.5 * X["x2"] + rng.normal(scale=0.5, size=n)
    X["target"] = np.where(z > 0, "yes", "no")
    return X


def test_a_fit_short_of_time_refits_its_forest_members_with_fewer_trees(monkeypatch):
    """A forest member's whole refit is priced at 1.5 times the time left: it is priced for
    a share of its trees, and the core's refit trains that share of them (the best is refit
    whole before); as a member of the final model it has fewer trees."""
    from automl.final import assemble

    seen = {}

    def short_of_time(candidates, *args, **kwargs):
        budget = seen["budget"] = args[6]
        seen["refit"] = args[7]
        forests = seen["forests"] = [c for c in candidates[1:] if c.least_share is not None and c.folds is None]
        left = budget.remaining() - budget.margin - _selection_estimate(budget)
        for c in forests[1:]:
            c.refit_seconds = 0.0
        if forests:  # one late forest: half the time left (the other half kept) is a third of its refit
            forests[0].refit_seconds = 1.5 * left
        return build(candidates, *args, **kwargs)

    build = assemble.build_ensemble
    monkeypatch.setattr(assemble, "build_ensemble", short_of_time)
    df = _frame()
    aml = AutoML(models=["random_forest", "extra_trees"], time_budget=60, n_trials=4, seed=0,
                 verbose=0).fit(df, "target")
    report = aml.ensemble_.report
    assert seen["forests"] and "of its full resource: the whole refit would take about" in report, report
    assert LEAST_SHARE <= seen["forests"][0].share < 1, report
    trial = seen["forests"][0].trial
    shrunk = [p for p, m in zip(aml.ensemble_.pipelines, aml.ensemble_.members) if m["trial"] == trial]
    assert all(p.named_steps["model"].n_estimators < 300 for p in shrunk), report
    half = seen["refit"](seen["forests"][0].trial, 0.5)
    assert half.named_steps["model"].n_estimators == 150
    proba = half.predict_proba(df.drop(columns="target").head(50))
    assert proba.shape == (50, 2) and np.allclose(proba.sum(axis=1), 1.0)


def test_the_search_keeps_time_for_the_likely_members_refits():
    """The reserve covers the refits of the next best models' best trials (at most
    ``RESERVE_MEMBERS``), not only multiples of the best model's: vehicle's cheap best
    (LightGBM) left no time for its best member's refit."""
    from automl.final.ensemble import RESERVE_MEMBERS, EnsembleBudget

    budget = EnsembleBudget(60.0)
    selecting = _selection_estimate(budget)
    budget.note_best(0.1)
    assert budget.refit_reserve() == pytest.approx(0.1 + 4 * 0.1 + selecting)
    budget.note_member("lightgbm", 0.9, 0.1)
    budget.note_member("gaussian_mixture", 0.8, 0.2)
    budget.note_member("extra_trees", 0.7, 1.4)
    budget.note_member("xgboost", 0.75, 1.7)
    budget.note_member("xgboost", 0.6, 50.0)  # not its best trial
    budget.note_member("knn", 0.5, 2.0)  # beyond the next RESERVE_MEMBERS
    assert RESERVE_MEMBERS == 3
    assert budget.refit_reserve() == pytest.approx(0.1 + 0.2 + 1.7 + 1.4 + selecting)
    budget.note_member("random_forest", 0.85, 100.0)  # at most RESERVE_FRACTION of the budget in all
    assert budget.refit_reserve() == pytest.approx(0.1 + 0.15 * 60)
