"""A continued rung is stopped once it scores worse than the one before on its first folds."""

import pytest

from automl.search.isolation import SlowRung
from automl.search.rung_gain import NoGain, check_gain, gate_folds


@pytest.mark.parametrize("n_splits, folds", [(3, 2), (5, 2), (10, 3), (20, 6)])
def test_a_rung_is_compared_after_a_share_of_its_folds(n_splits, folds):
    assert gate_folds(n_splits) == folds


def test_worse_on_the_mean_of_the_first_folds_stops_the_rung():
    with pytest.raises(NoGain, match=r"rung 2 than at rung 1 on its first 2 of 5 folds"):
        check_gain("lightgbm", 2, [0.80, 0.70], [0.79, 0.75, 0.9, 0.9, 0.9], 5)


def test_better_or_equal_goes_on():
    check_gain("lightgbm", 2, [0.80, 0.74], [0.79, 0.75, 0.1], 5)  # mean 0.77 vs 0.77
    check_gain("lightgbm", 2, [0.90, 0.80], [0.79, 0.75], 5)


def test_too_few_folds_the_last_fold_or_nothing_to_compare_never_stop():
    check_gain("xgboost", 1, [0.1], [0.9, 0.9, 0.9], 5)  # one fold: too early to tell
    check_gain("xgboost", 1, [0.1, 0.1, 0.1], [0.9, 0.9, 0.9], 3)  # all folds done: nothing left to save
    check_gain("xgboost", 1, [0.1, 0.1], None, 5)  # rung 0, or the rung before was not scored by fold
    check_gain("xgboost", 1, [0.1, 0.1], [0.9], 5)  # the rung before has fewer folds


def test_a_fold_that_could_not_be_scored_never_stops_it():
    check_gain("xgboost", 1, [float("nan"), 0.1], [0.9, 0.9], 5)
    check_gain("xgboost", 1, [0.1, 0.1], [float("nan"), 0.9], 5)


def test_it_is_a_configuration_stop_not_the_budget():
    """Should it ever reach the search, it is not counted as a trial the budget could not afford."""
    assert issubclass(NoGain, SlowRung)
