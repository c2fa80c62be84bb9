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


def test_the_gate_scores_each_fold_and_compares_rungs_fold_by_fold():
    from types import SimpleNamespace

    import numpy as np

    from automl.data.task import Task
    from automl.metrics import resolve_metric
    from automl.search.rung_gain import RungGate

    y = np.array([0, 1] * 10)
    rows = [np.arange(0, 4), np.arange(4, 8), np.arange(8, 12), np.arange(12, 16), np.arange(16, 20)]
    data = SimpleNamespace(metric=resolve_metric("accuracy", Task.BINARY), y=y, task=Task.BINARY,
                           splits=[(None, r) for r in rows])
    gate = RungGate(data)
    right, wrong = (lambda r: np.eye(2)[y[r]]), (lambda r: np.eye(2)[1 - y[r]])
    for r in rows:
        gate.add("lightgbm", 0, r, right(r))
    gate.add("lightgbm", 1, rows[0], wrong(rows[0]))  # one fold: too early
    with pytest.raises(NoGain, match="first 2 of 5 folds"):
        gate.add("lightgbm", 1, rows[1], right(rows[1]))  # mean 0.5 against 1.0
    assert gate.by_rung[0] == [1.0] * 5 and gate.by_rung[1] == [0.0, 1.0]
