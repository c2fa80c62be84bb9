"""Bagging (``ModelSpec.bagged``, issue 23-24): on small tables whose folds are repeated, a
bagged model's final fit is its trial's fold models averaged, not one refit on all rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression

from automl import AutoML, ModelSpec, Task
from automl.final.ensemble import Candidate, _refit_member
from automl.final.fold_models import FoldAverage
from automl.search.budget import Budget
from ensemble_cases import assert_predicts_alike


class _BaggedLogit:
    """A logistic regression declared ``bagged`` (as the MLP is)."""

    def automl_register_models(self):
        return [ModelSpec("bagged_logit", frozenset({Task.BINARY, Task.MULTICLASS}),
                          lambda trial, profile: {"C": trial.suggest_float("C", 0.01, 10.0, log=True)},
                          lambda params, ctx: LogisticRegression(max_iter=500, **params), default_params=({"C": 1.0},),
                          needs_scaling=True, bagged=True)]


def _frame(n=600, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n), "c": rng.choice(["x", "y", "z"], size=n)})
    X["target"] = np.where(X["a"] + 0.5 * (X["c"] == "x") + rng.normal(scale=0.7, size=n) > 0.2, "yes", "no")
    return X


def _fit(models, df=None, **settings) -> AutoML:
    settings = {"time_budget": 60, "n_trials": 2, "seed": 0, "verbose": 0, "plugins": [_BaggedLogit()]} | settings
    return AutoML(models=models, **settings).fit(_frame() if df is None else df, "target")


def test_a_bagged_model_on_repeated_folds_is_its_fold_models_averaged(tmp_path):
    df = _frame()
    # no latency limit: on a slow machine 10 fold models may predict one row over 15 ms and be cut
    # to 5 (tested below), which is not what this test is about
    aml = _fit(["bagged_logit"], df, cv_repeats=2, infer_limit=None)
    assert isinstance(aml.best_model_, FoldAverage) and len(aml.best_model_.pipelines) == 10
    assert "averaged (bagged" in aml.ensemble_.notes[0], aml.ensemble_.report
    assert aml.timings_["refit"] < 1.0, "nothing is trained after the search"
    X = df.drop(columns="target")
    assert_predicts_alike(aml, X, tmp_path / "m.automl", rows=3)
    # the average is not any one fold model, nor a refit on all rows
    fold0 = aml.best_model_.pipelines[0].predict_proba(X)
    assert not np.allclose(fold0, aml.best_model_.predict_proba(X))


def test_without_repeated_folds_or_the_flag_the_best_model_is_refit():
    once = _fit(["bagged_logit"], cv_repeats=1)
    assert not isinstance(once.best_model_, FoldAverage) and "averaged (bagged" not in once.ensemble_.report
    plain = _fit(["logistic_regression"], cv_repeats=2)  # the built-in is not bagged: one refit does better
    assert not isinstance(plain.best_model_, FoldAverage) and "averaged (bagged" not in plain.ensemble_.report


def test_bagged_fold_models_slower_than_the_latency_limit_are_refit():
    """Averaged, the best trial's 10 fold models predict one row slower than ``infer_limit``:
    the best model is refit on all rows instead."""
    aml = _fit(["bagged_logit"], cv_repeats=2, infer_limit=1e-7)
    assert not isinstance(aml.best_model_, FoldAverage) and "averaged (bagged" not in aml.ensemble_.report


def test_bagged_fold_models_are_cut_to_the_draws_that_predict_within_the_limit(monkeypatch):
    """One fold model takes 1 ms a row (here, by decree), the limit is 7 ms: the first draw of
    5 folds is averaged (every row predicted by 4 of them), not all 10 and not a refit."""
    from automl.final.latency import Latency

    monkeypatch.setattr(Latency, "_measure", lambda self, pipeline, calls=None: 0.001)
    aml = _fit(["bagged_logit"], cv_repeats=2, infer_limit=0.007)
    assert isinstance(aml.best_model_, FoldAverage) and len(aml.best_model_.pipelines) == 5
    assert "the first 5 of its 10" in aml.ensemble_.notes[0], aml.ensemble_.notes


def test_a_bagged_member_joins_as_its_fold_models_and_others_are_refit():
    folds = [LogisticRegression().fit(np.arange(8.0)[:, None] + i, [0, 1] * 4) for i in range(4)]
    refit, pipelines, notes = [], {}, []
    budget = Budget(60.0)

    def fit(trial):
        refit.append(trial)
        return folds[0]

    bagged = Candidate(3, "mlp", 0.8, np.zeros(8), refit_seconds=0.1, folds=folds, bagged=True)
    assert _refit_member(bagged, pipelines, budget, fit, notes, 2)
    assert isinstance(pipelines[3], FoldAverage) and len(pipelines[3].pipelines) == 4 and not refit
    assert notes == ["trial 3 (mlp) is its 4 fold models averaged (bagged)"]
    kept_only = Candidate(4, "lightgbm", 0.8, np.zeros(8), refit_seconds=0.1, folds=folds)
    assert _refit_member(kept_only, pipelines, budget, fit, notes, 2)
    assert refit == [4] and pipelines[4] is folds[0], "kept fold models alone do not make a member bagged"
