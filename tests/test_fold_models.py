"""When the final refit would overrun the budget, the best trial's fold models are the final model."""

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.final.fold_models import FoldAverage
from automl.report.run_report import FOLDS, REFIT_AND_FOLDS, ensemble_summary
from automl.search.budget import Budget
from ensemble_cases import assert_predicts_alike


def _frame(n=600, seed=0, classes=("no", "yes", "maybe")):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                      "c": rng.choice(["x", "y", "z"], size=n)})
    score = X["a"] + 0.5 * (X["c"] == "x") + rng.normal(scale=0.5, size=n)
    X["target"] = np.asarray(classes)[np.digitize(score, [-0.3, 0.6])]
    return X


class _Fixed:
    def __init__(self, proba):
        self.proba, self.classes_ = np.asarray(proba, dtype=float), np.arange(len(proba))

    def predict_proba(self, X):
        return np.tile(self.proba, (len(X), 1))


def test_fold_average_means_the_fold_probabilities():
    avg = FoldAverage([_Fixed([0.2, 0.8]), _Fixed([0.6, 0.4])], n_classes=2)
    X = pd.DataFrame({"a": [1.0, 2.0]})
    np.testing.assert_allclose(avg.predict_proba(X), [[0.4, 0.6], [0.4, 0.6]])
    assert list(avg.predict(X)) == [1, 1] and list(avg.classes_) == [0, 1]
    with pytest.raises(ValueError):
        FoldAverage([], 2)


@pytest.mark.parametrize("budget", [60, None])
def test_no_time_to_refit_keeps_the_fold_models(monkeypatch, tmp_path, budget):
    """Every refit looks far too long for the budget: the final model is the best trial's
    fold models, averaged, and it predicts, saves and says why. Without a budget it is refit."""
    real = Budget.note_best
    monkeypatch.setattr(Budget, "note_best", lambda self, seconds, has_folds=False, **kw: real(self, 1e6, has_folds))
    df = _frame()
    aml = AutoML(models=["logistic_regression"], time_budget=budget, n_trials=1, seed=0, verbose=0).fit(df, "target")
    proba = aml.predict_proba(df)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    if budget is None:
        assert not isinstance(aml.best_model_, FoldAverage)
        return
    # 5 folds drawn twice (cv_repeats="auto" on a small table with 60 s): all 10 fold models
    assert isinstance(aml.best_model_, FoldAverage) and len(aml.best_model_.pipelines) == 10
    assert "fold model" in aml.ensemble_.notes[0] and "overrun the budget" in aml.ensemble_.notes[0]
    assert aml.ensemble_.method == "single", "one trial: nothing to blend"
    assert aml.timings_["refit"] < 1.0
    summary = ensemble_summary(aml)
    assert summary["how"] == FOLDS and FOLDS in summary["note"] and "refit on all rows" not in summary["note"]
    assert aml.score(df, "target") > -0.9, "fold models predict the training rows well (log loss)"
    aml.save(tmp_path / "m.automl")
    again = AutoML.load(tmp_path / "m.automl")
    np.testing.assert_allclose(again.predict_proba(df), proba)


def test_no_time_is_kept_for_a_refit_that_cannot_fit(monkeypatch):
    """The best model's refit looks far too long when it is found, and its fold models are
    kept: it will be them, averaged, so the search goes on instead of keeping that time."""
    real = Budget.note_best
    monkeypatch.setattr(Budget, "note_best", lambda self, seconds, has_folds=False, **kw: real(self, 1e6, has_folds))
    aml = AutoML(models=["logistic_regression"], time_budget=60, n_trials=3, seed=0, verbose=0).fit(_frame(), "target")
    assert len(aml.leaderboard()) == 3 and (aml.leaderboard()["status"] == "ok").all()
    assert isinstance(aml.best_model_, FoldAverage) and aml.timings_["total"] < 60


def test_fold_models_too_large_to_keep_are_refit_for_out_of_fold_importances(monkeypatch):
    """Fold models over ``KEEP_FOLDS_BYTES`` are dropped during the search (a fully grown
    forest's reach hundreds of MB): the final model is refit, and the importances without
    data are still measured out of fold, by the fold models refit when first asked for."""
    from automl.inspection.out_of_fold import RefitFolds
    from automl.search import climb, kept_folds
    from automl.search.memory import fitted_bytes

    monkeypatch.setattr(Budget, "note_best", lambda self, seconds, *args, **kw: setattr(self, "best_refit", 1e6))
    monkeypatch.setattr(climb, "KEEP_FOLDS_BYTES", 0)
    monkeypatch.setattr(kept_folds, "KEEP_FOLDS_BYTES", 0)
    df = _frame()
    aml = AutoML(models=["random_forest"], time_budget=60, n_trials=1, cv=3, seed=0, verbose=0).fit(df, "target")
    assert not isinstance(aml.best_model_, FoldAverage), "no fold models kept: the refit runs whatever it costs"
    folds = aml._fold_models.pipelines
    assert isinstance(folds, RefitFolds) and not folds._fitted
    imp = aml.feature_importances(n_repeats=2)
    assert len(folds._fitted) == 3 and fitted_bytes(folds[0]) > 0
    assert imp.index[0] == "a" and "out of fold" in imp.attrs["data"]
    # fold i's refit saw only fold i's training rows: its validation rows are new to it
    rows = aml._fold_models.fold == 0
    assert folds[0].predict_proba(aml._fold_models.X[rows]).max(axis=1).mean() < 0.99


def test_ensemble_members_without_time_to_refit_are_their_fold_models_and_save(monkeypatch, tmp_path):
    """No refit fits in the time left: the best trial and the ensemble's other members are
    their fold models from the search, averaged (each family's best trial's were kept);
    the ensemble predicts the same one row at a time and after a save and load."""
    from automl.final import assemble

    def late(*args, **kwargs):  # every member's refit looks far too long
        candidates = pick(*args, **kwargs)
        for c in candidates:
            c.refit_seconds = 1e6
        return candidates

    def slow_best(data, specs, records, objective, budget, *args):  # after the search: it ran whole
        budget.best_refit = 1e6
        return refit_best(data, specs, records, objective, budget, *args)

    pick, refit_best = assemble.pick_candidates, assemble.refit_best
    monkeypatch.setattr(assemble, "pick_candidates", late)
    monkeypatch.setattr(assemble, "refit_best", slow_best)
    df = _frame(900, seed=1)
    # infer_limit=None: one row's time through 10 fold models each is what a busy machine
    # (two test workers) decides, and over the limit the members would be left out instead
    aml = AutoML(models=["logistic_regression", "lightgbm", "knn"], time_budget=60, n_trials=6, seed=0,
                 infer_limit=None, verbose=0).fit(df, "target")
    kinds = [type(p).__name__ for p in aml.ensemble_.pipelines]
    assert aml.ensemble_.method != "single" and set(kinds) == {"FoldAverage"}, aml.ensemble_.report
    assert "fold model(s) averaged: its refit would take about" in aml.ensemble_.report
    assert_predicts_alike(aml, df.drop(columns="target"), tmp_path / "m.automl")


@pytest.mark.parametrize("share", [0.7, 0.3])
def test_a_refit_that_stops_in_time_is_cut_to_the_time_left(monkeypatch, tmp_path, share):
    """On a holdout, the MLP's refit priced so that ``share`` of it fits in the time left: at
    0.7 the search ends there and the refit runs on all rows with that time as its limit (it
    keeps its best epoch), averaged with the holdout's model; at 0.3 the holdout's model
    serves alone and the search goes on."""
    pytest.importorskip("torch")
    real = Budget.note_best

    def priced(self, seconds, has_folds=False, cuttable=False):
        assert cuttable, "the MLP on a holdout may be cut"
        real(self, (self.remaining() - self.margin) / share, has_folds, cuttable)

    monkeypatch.setattr(Budget, "note_best", priced)
    df = _frame(n=400)
    # infer_limit=None: on a busy machine two networks may predict one row over the limit (one serves)
    aml = AutoML(models=["mlp"], time_budget=40, cv=1, n_trials=2, seed=0, infer_limit=None, verbose=0)
    aml.fit(df, "target")
    board = aml.leaderboard()
    if share < 0.5:
        assert isinstance(aml.best_model_, FoldAverage) and len(board) == 2
        assert "overrun the budget" in aml.ensemble_.notes[0]
        return
    assert len(board) == 1, "the time left went to the refit"
    best = aml.best_model_
    assert isinstance(best, FoldAverage) and best.refits == 1 and len(best.pipelines) == 2
    note = aml.ensemble_.notes[0]
    assert "refit on all rows within the" in note
    assert "averaged with its model of the holdout's 320 training rows" in note
    refit, holdout = (p.named_steps["model"] for p in best.pipelines)
    assert 0 < refit.max_time < 40 and holdout.max_time != refit.max_time
    assert refit.n_features_in_ == holdout.n_features_in_ > 0
    assert ensemble_summary(aml)["how"] == REFIT_AND_FOLDS and repr(best) == "FoldAverage(1 fold models, 1 refit)"
    assert aml.score(df, "target") > -0.9
    assert aml.timings_["total"] < 40
    aml.save(tmp_path / "m.automl")
    again = AutoML.load(tmp_path / "m.automl")
    assert again.best_model_.refits == 1
    np.testing.assert_allclose(again.predict_proba(df), aml.predict_proba(df))
