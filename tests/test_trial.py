"""One vocabulary of trial statuses: the observers and the leaderboard name a trial alike."""

import optuna
import pytest

from automl.report.leaderboard import trials_frame
from automl.search.observers import trial_info
from automl.search.record import TrialRecord
from automl.trial import STATUSES

State = optuna.trial.TrialState


def frozen(number: int, state, value=None, **attrs) -> optuna.trial.FrozenTrial:
    trial = optuna.trial.create_trial(state=state, value=value, params={"model": "ridge"},
                                      distributions={"model": optuna.distributions.CategoricalDistribution(["ridge"])},
                                      user_attrs=attrs)
    trial.number = number
    return trial


@pytest.mark.parametrize("state, value, attrs, expected", [
    (State.COMPLETE, 0.9, {}, "ok"),
    (State.PRUNED, None, {}, "pruned"),  # pruned by Optuna itself: the leaderboard said "stopped"
    (State.PRUNED, None, {"status": "stopped"}, "stopped"),  # the budget stopped it
    (State.FAIL, None, {}, "failed"),
    (State.FAIL, None, {"status": "skipped"}, "skipped"),
])
def test_observers_and_leaderboard_use_one_status(state, value, attrs, expected):
    trial = frozen(0, state, value, **attrs)
    assert TrialRecord.from_trial(trial).status == expected and expected in STATUSES
    assert trial_info(trial, "r2", {}).state == expected
    assert trials_frame([trial], "r2")["status"].tolist() == [expected]
