"""Successive halving compares a trial only with trials of the same model (and, in
Hyperband's brackets, of the same bracket)."""

import numpy as np
import optuna
import pandas as pd
import pytest

from automl.metrics import resolve_metric
from automl.profile import profile_frame
from automl.registry import discover
from automl.search.budget import Budget
from automl.search.cv import make_splits
from automl.search.objective import Objective, SearchData
from automl.search.pruner import bracket_of, bracket_weights
from automl.search.space import MODEL_PARAM
from automl.search.study import make_pruner, make_study, run_search
from automl.task import Task


def _trial(study, model, value):
    """A trial of ``model`` reporting ``value`` at the first rung; True if pruned."""
    study.enqueue_trial({MODEL_PARAM: model})
    trial = study.ask()
    assert trial.suggest_categorical(MODEL_PARAM, ["boost", "forest"]) == model
    trial.report(value, step=1)
    pruned = trial.should_prune()
    study.tell(trial, state=optuna.trial.TrialState.PRUNED if pruned else None,
               values=None if pruned else value)
    return pruned


@pytest.mark.parametrize("storage", [None, "sqlite"])
def test_low_rungs_compete_within_a_family(storage, tmp_path):
    url = None if storage is None else f"sqlite:///{tmp_path / 's.db'}"
    study = make_study(url, None, 0, make_pruner(3, 3))
    assert not _trial(study, "forest", 0.90)  # forests converge early: high at rung 0
    assert not _trial(study, "forest", 0.91)
    assert not _trial(study, "boost", 0.60)  # first of its family: nothing to beat
    # Plain successive halving would prune this (0.70 is far below the forests' 0.9).
    assert not _trial(study, "boost", 0.70)
    assert _trial(study, "boost", 0.65), "worse than its own family's best at this rung"
    assert _trial(study, "forest", 0.80)
    # The rung state lives in the study's storage, as Optuna's own pruner keeps it.
    assert all("completed_rung_0" in t.system_attrs for t in study.trials)


def test_plain_halving_would_prune_across_families():
    """The unfairness the family pruner removes (guards the test above)."""
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.SuccessiveHalvingPruner(
        min_resource=1, reduction_factor=3, min_early_stopping_rate=0))
    _trial(study, "forest", 0.90)
    _trial(study, "forest", 0.91)
    _trial(study, "boost", 0.60)
    assert _trial(study, "boost", 0.70)


def test_single_rung_never_prunes():
    assert isinstance(make_pruner(1, 3), optuna.pruners.NopPruner)


def test_hyperband_brackets_follow_its_proportions_and_are_deterministic():
    assert bracket_weights(3, 3) == [9, 5, 3]  # Hyperband's n_i for 3 rungs, eta 3
    assert bracket_weights(2, 2) == [2, 2]
    counts = np.bincount([bracket_of(n, 3, 3) for n in range(3400)], minlength=3) / 3400
    assert np.allclose(counts, np.array([9, 5, 3]) / 17, atol=0.03), counts
    assert [bracket_of(n, 3, 3) for n in range(50)] == [bracket_of(n, 3, 3) for n in range(50)]
    pruner = make_pruner(3, 3, hyperband=True)
    assert [pruner.first_rung(n) for n in range(50)] == [bracket_of(n, 3, 3) for n in range(50)]
    assert make_pruner(3, 3).first_rung(4) == 0  # one bracket: every trial starts at rung 0


def _numbers_in(bracket, count):
    return [n for n in range(200) if bracket_of(n, 3, 3) == bracket][:count]


def test_hyperband_trials_compete_only_within_their_bracket():
    """A bracket's first pruning decision is at its own first rung (step eta**b), and only
    trials of that bracket (and model) are its competitors."""
    study = make_study(None, None, 0, make_pruner(3, 3, hyperband=True))
    wanted = {n: b for b in range(3) for n in _numbers_in(b, 3)}
    outcome = {}
    for number in range(max(wanted) + 1):
        study.enqueue_trial({MODEL_PARAM: "boost"})
        trial = study.ask()
        trial.suggest_categorical(MODEL_PARAM, ["boost"])
        bracket = wanted.get(number)
        if bracket is None:  # not one of ours: a failed trial, which competes with nobody
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            continue
        # within each bracket the scores fall: the 2nd and 3rd are below the best third;
        # bracket 0 scores higher, so a bracket-1 trial judged against it would be pruned
        value = (0.9 if bracket == 0 else 0.5) - 0.1 * sum(1 for n in outcome if wanted[n] == bracket)
        # bracket 2 starts at the last rung, which is never reported: its trials that
        # report a lower rung anyway (a climbing baseline) are not judged there
        trial.report(value, step=3 ** min(bracket, 1))
        outcome[number] = trial.should_prune()
        study.tell(trial, state=optuna.trial.TrialState.PRUNED if outcome[number] else None,
                   values=None if outcome[number] else value)
    for b in (0, 1):
        first, *rest = _numbers_in(b, 3)
        assert not outcome[first], "first of its bracket: nothing to beat"
        assert all(outcome[n] for n in rest), f"bracket {b}: worse than its bracket's best"
    assert not any(outcome[n] for n in _numbers_in(2, 3)), "the last bracket never prunes"


def test_a_hyperband_trial_starts_at_its_brackets_rung():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(600, 4)), columns=list("abcd"))
    y = (X["a"] + rng.normal(scale=0.5, size=600) > 0).astype(int).to_numpy()
    data = SearchData(X, y, Task.BINARY, profile_frame(X, 2), make_splits(y, Task.BINARY, 3, 0),
                      resolve_metric(None, Task.BINARY), 2)
    specs = {s.name: s for s in discover().specs.values() if s.name == "hist_gradient_boosting"}
    pruner = make_pruner(3, 3, hyperband=True)
    study = make_study(None, None, 0, pruner)
    objective = Objective(data, specs, Budget(None), 0, 1, rungs=3, eta=3, first_rung=pruner.first_rung)
    run_search(study, objective, Budget(None), n_trials=12)
    seen = set()
    for t in study.trials:
        first = pruner.first_rung(t.number)
        seen.add(first)
        assert t.user_attrs.get("first_rung", 0) == first
        assert all(step >= 3**first for step in t.intermediate_values), (first, t.intermediate_values)
        if first == 2:  # starts at the full resource: nothing to report, never pruned
            assert not t.intermediate_values and t.state == optuna.trial.TrialState.COMPLETE
    assert seen == {0, 1, 2}
