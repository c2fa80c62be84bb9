"""Reproducible mode (issue 20): with a seed, ``n_trials``, ``time_budget=None`` and
``infer_limit=None``, a rerun gives the same leaderboard, the same final model and
identical predictions, whatever the models (every built-in family here, with successive
halving, TPE trials after the defaults, and the ensemble)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import AutoML, Task
from automl.data.profile import profile_frame
from automl.datasets import load
from automl.registry import discover, missing_imports

#: The classification families installed here (CatBoost and the MLP are optional extras).
FAMILIES = sum(1 for s in discover().specs.values() if Task.BINARY in s.tasks and not missing_imports(s))

#: Leaderboard columns measured on the clock or naming the process: the only ones that may differ.
CLOCK = ["fit_time", "predict_1_ms", "predict_1000_ms", "worker"]


def reproducible(**settings) -> AutoML:
    return AutoML(time_budget=None, infer_limit=None, seed=7, verbose=0, **settings)


def assert_same_run(a: AutoML, b: AutoML, X: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a.leaderboard().drop(columns=CLOCK), b.leaderboard().drop(columns=CLOCK),
                                  check_exact=True)
    assert (a.best_trial_, a.best_model_name_, a.best_params_) == (b.best_trial_, b.best_model_name_, b.best_params_)
    assert a.best_score_ == b.best_score_
    assert (a.ensemble_.method, a.ensemble_.members, a.ensemble_.weights) == (
        b.ensemble_.method, b.ensemble_.members, b.ensemble_.weights)
    assert a.ensemble_.report == b.ensemble_.report
    if a.task_.is_classification:
        np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))
    np.testing.assert_array_equal(a.predict(X), b.predict(X))


@pytest.mark.slow
def test_a_rerun_of_every_family_is_identical():
    data = load("titanic")
    train = data.frame.sample(n=600, random_state=0)  # >= 500 rows: successive halving is on
    test = data.frame.drop(train.index)
    first = reproducible(n_trials=FAMILIES + 1, cv=3).fit(train, data.target)
    board = first.leaderboard()
    assert board["model"].nunique() == FAMILIES, "every classification family ran (its first default)"
    stopped = board["note"].str.contains("scored worse at rung", na=False)  # rung_gain.py: a booster's rung
    assert ((board["rung"] == 2) | stopped).all(), "each trial climbed the three rungs of successive halving"
    second = reproducible(n_trials=FAMILIES + 1, cv=3).fit(train, data.target)
    assert_same_run(first, second, test)


@pytest.mark.slow
def test_a_rerun_with_sampled_trials_and_an_ensemble_is_identical():
    data = load("bike_sharing")
    train = data.frame.sample(n=800, random_state=0)
    models = ["lightgbm", "xgboost", "random_forest", "ridge", "mlp"]
    specs = discover().specs
    profile = profile_frame(train.drop(columns=data.target))  # regression: LightGBM's portfolio has linear leaves too
    defaults = sum(len(specs[m].defaults(profile)) for m in models if m in specs)
    n_trials = defaults + 5  # every model's defaults, then the sampler's (TPE) trials
    first = reproducible(n_trials=n_trials, models=models, cv=3).fit(train, data.target)
    assert (~first.leaderboard()["default"]).sum() == 5
    second = reproducible(n_trials=n_trials, models=models, cv=3).fit(train, data.target)
    assert_same_run(first, second, data.frame.drop(train.index).head(300))


def test_the_tags_say_when_a_run_is_reproducible():
    assert not reproducible(n_trials=5).__sklearn_tags__().non_deterministic
    assert AutoML(time_budget=60).__sklearn_tags__().non_deterministic
    assert AutoML(time_budget=None).__sklearn_tags__().non_deterministic, "the measured-latency rule decides"


def test_the_command_line_can_ask_for_a_reproducible_run():
    from automl.cli.parser import build_parser
    from automl.cli.searching import _automl

    argv = ["fit", "data.csv", "--target", "y", "--time", "0", "--trials", "5", "--seed", "3"]
    assert _automl(build_parser().parse_args(argv)).__sklearn_tags__().non_deterministic, "latency rule on by default"
    aml = _automl(build_parser().parse_args([*argv, "--infer-limit", "0"]))
    assert not aml.__sklearn_tags__().non_deterministic and (aml.seed, aml.n_trials) == (3, 5)
