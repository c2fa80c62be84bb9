"""One trial's record in the study: everything the search, the leaderboard, the observers,
the ensemble and the reports read about a trial, written through one schema.

The record lives in the trial's Optuna user attributes (one key per field), so it is in
the study's storage: in memory, in SQLite or PostgreSQL, or in a journal file, and every
process that opens the study reads the same records. Large results (the out-of-fold
predictions) are not in the record: they are in the study's artifact store, and the
record holds their artifact id (``oof``; see ``store.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

import optuna

from automl.trial import FAILED, MODEL_PARAM, OK, PRUNED, RUNNING, WAITING

#: The record field a queued default configuration carries from the start (its index).
DEFAULT_ATTR = "default_config"

_STATE_STATUS = {
    optuna.trial.TrialState.COMPLETE: OK,
    optuna.trial.TrialState.PRUNED: PRUNED,
    optuna.trial.TrialState.FAIL: FAILED,
    optuna.trial.TrialState.RUNNING: RUNNING,
    optuna.trial.TrialState.WAITING: WAITING,
}


@dataclass
class TrialRecord:
    """What a trial did. Stored fields (user attributes of the same names):

    status : one of ``automl.trial.STATUSES`` (set when the trial ends).
    params : the model's parameters, JSON types (the kept rung's resource included for a
        model kept at a lower rung).
    rung, resource : the last successive-halving rung reached and its resource
        (``"n_estimators=33"``, ``"rows=33%"``, ``"full"``).
    refit_resource : the resource the final model trains with.
    fit_time : seconds the whole trial took (all rungs, all folds).
    cv_seconds : seconds of training behind the trial's score (its refit is priced from it).
    error, note : why it failed or was stopped; what else happened (a climb cut short).
    default_config : the index of the model's default configuration, or None (sampled).
    worker : ``host:pid`` of the process that ran it.
    oof : the artifact id of its out-of-fold predictions, or None (not kept).
    log_loss : for classification, the log loss of its out-of-fold probabilities (beside
        the search metric, which may only rank them), else None.

    Read from the Optuna trial: ``number``, ``model`` and ``score`` (the full-fidelity CV
    score of a COMPLETE trial, else None), and ``state``.
    """

    status: str | None = None
    params: dict = field(default_factory=dict)
    rung: int | None = None
    resource: str | None = None
    refit_resource: str | None = None
    fit_time: float | None = None
    cv_seconds: float | None = None
    error: str = ""
    note: str = ""
    default_config: int | None = None
    worker: str = ""
    oof: str | None = None
    log_loss: float | None = None
    # from the Optuna trial, not stored as attributes
    number: int = -1
    model: str | None = None
    score: float | None = None
    state: optuna.trial.TrialState | None = None

    @classmethod
    def from_trial(cls, trial: optuna.trial.FrozenTrial) -> "TrialRecord":
        attrs = {k: v for k, v in trial.user_attrs.items() if k in STORED}
        record = cls(**attrs)
        record.number, record.state = trial.number, trial.state
        record.model = trial.params.get(MODEL_PARAM)
        if trial.state == optuna.trial.TrialState.COMPLETE and trial.value is not None:
            record.score = float(trial.value)
        record.status = record.status or _STATE_STATUS.get(trial.state, trial.state.name.lower())
        return record


#: The fields stored as user attributes (the others come from the Optuna trial).
STORED = tuple(f.name for f in fields(TrialRecord) if f.name not in ("number", "model", "score", "state"))


def read(trial: optuna.Trial | optuna.trial.FrozenTrial, name: str) -> Any:
    """One stored field of ``trial``'s record as it is now (a running trial's, too)."""
    if name not in STORED:
        raise KeyError(f"{name!r} is not a field of TrialRecord (fields: {', '.join(STORED)})")
    return trial.user_attrs.get(name, TrialRecord.__dataclass_fields__[name].default)


def write(trial: optuna.Trial, **values: Any) -> None:
    """Store some fields of ``trial``'s record (a misspelled field is a bug: ``KeyError``)."""
    for name, value in values.items():
        if name not in STORED:
            raise KeyError(f"{name!r} is not a field of TrialRecord (fields: {', '.join(STORED)})")
        trial.set_user_attr(name, value)


def note_device(trial, fitted: list) -> None:
    """A model that says where it trained (``device_``, e.g. ``"cuda:0"`` or ``"cpu"``: the
    PyTorch MLP does) has it in the trial's note, once: the leaderboard shows it."""
    model = next((f.named_steps["model"] for f in fitted if f is not None), None)
    device = getattr(model, "device_", None)
    if isinstance(device, str) and device and "device: " not in read(trial, "note"):
        write(trial, note="; ".join(filter(None, [read(trial, "note"), f"device: {device}"])))
