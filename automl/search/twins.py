"""A configuration drawn twice is trained once: finding the trial of the study (any
process) that already ran it."""

from __future__ import annotations

import json

import optuna

from automl.search.record import DEFAULT_ATTR, read
from automl.trial import SKIPPED


def configuration(params: dict, default: int | None) -> str:
    """What identifies a drawn configuration: the study's parameters (the model's name and
    its namespaced draws), and the index of a default configuration."""
    return json.dumps([sorted(params.items()), default], default=str)


def same_configuration(trial, known: dict[int, str]) -> int | None:
    """The number of a trial of the study (any process) that ran, or began earlier and
    runs, the same configuration as ``trial``: the same model and drawn parameters, or the
    same default configuration. A failed one does not count: it may be retried. ``known``
    caches finished trials' configurations by number (filled here)."""
    key = configuration(trial.params, trial.user_attrs.get(DEFAULT_ATTR))
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED, optuna.trial.TrialState.RUNNING)
    for other in trial.study.get_trials(deepcopy=False, states=states):
        if other.number == trial.number or (other.state.name == "RUNNING" and other.number > trial.number):
            continue
        theirs = known.get(other.number)
        if theirs is None:
            if read(other, "status") == SKIPPED:
                continue
            theirs = configuration(other.params, other.user_attrs.get(DEFAULT_ATTR))
            if other.state.is_finished():
                known[other.number] = theirs
        if theirs == key:
            return other.number
    return None
