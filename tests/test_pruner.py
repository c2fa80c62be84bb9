"""Successive halving compares a trial only with trials of the same model."""

import optuna
import pytest

from automl.trial import MODEL_PARAM
from automl.search.study import make_pruner, make_study


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
