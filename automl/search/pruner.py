"""Successive halving within each model family, optionally in Hyperband's brackets.

Optuna's ``SuccessiveHalvingPruner`` compares a trial's score at a rung with every
trial that reached that rung. Across families that comparison is unfair: a linear
model or a forest at a ninth of its resource is nearly done, a boosted model at a
ninth of its rounds is not, so cross-family halving prunes boosting before it gets
good (measured: car's log loss went from 0.009 to 0.19-0.69). Here each trial
competes only with trials of its own model; the choice between families is left to
the sampler and to full-fidelity scores.

Hyperband (Li et al., 2018) runs successive halving in several brackets, from the
most aggressive (start at the lowest rung, prune at every rung) to none at all
(start at the full resource): a hedge for the searches where low rungs mislead.
Bracket ``b`` starts its trials at rung ``b``; a trial's bracket is a hash of its
number, drawn with Hyperband's proportions, so it needs no shared state and is the
same in every process. Trials compete only within their family and bracket.

The rung state is still Optuna's: the wrapped pruners write it to the trial's system
attributes in the study's storage, so several processes sharing one study prune
consistently.
"""

from __future__ import annotations

import math
import zlib

import optuna
from optuna.trial import FrozenTrial

from automl.search.space import MODEL_PARAM


def bracket_weights(rungs: int, eta: int) -> list[int]:
    """Hyperband's number of configurations per bracket, bracket ``b`` starting at rung
    ``b`` of ``rungs``: ``ceil(rungs / (s + 1) * eta**s)`` with ``s = rungs - 1 - b``
    prunings (3 rungs, eta 3: 9, 5 and 3 trials), so each bracket costs about as much."""
    return [math.ceil(rungs / (s + 1) * eta**s) for s in (rungs - 1 - b for b in range(rungs))]


def bracket_of(number: int, rungs: int, eta: int) -> int:
    """The bracket (first rung) of trial ``number``: a hash spread by ``bracket_weights``."""
    weights = bracket_weights(rungs, eta)
    point = zlib.crc32(str(number).encode()) % sum(weights)
    for bracket, weight in enumerate(weights):
        if point < weight:
            return bracket
        point -= weight
    raise AssertionError("unreachable")


class _FamilyView:
    """The study as an inner pruner sees it: only trials of one model (and bracket)."""

    def __init__(self, study: optuna.Study, model: str | None, bracket=None):
        self._study = study
        self._model = model
        self._bracket = bracket  # None, or a function of a trial number that must be True

    def get_trials(self, deepcopy: bool = True, states=None) -> list[FrozenTrial]:
        trials = self._study.get_trials(deepcopy=deepcopy, states=states)
        return [t for t in trials if t.params.get(MODEL_PARAM) == self._model
                and (self._bracket is None or self._bracket(t.number))]

    def __getattr__(self, name: str):  # direction, _storage, ...: the real study's
        return getattr(self._study, name)


class FamilyPruner(optuna.pruners.BasePruner):
    """Optuna's ``SuccessiveHalvingPruner`` (reduction factor ``eta``, rungs at steps
    ``eta**k``) applied among trials of the same model only. It sees the study through
    ``_FamilyView``, whose ``get_trials`` (all that pruner reads) holds one model's trials.

    With ``hyperband``, one such pruner per bracket (``min_early_stopping_rate`` = the
    bracket's first rung), each seeing its own bracket's trials; ``first_rung`` tells the
    objective where a trial starts.
    """

    def __init__(self, eta: int, rungs: int = 3, hyperband: bool = False):
        self.eta, self.rungs, self.hyperband = eta, rungs, hyperband
        self.inner = [optuna.pruners.SuccessiveHalvingPruner(min_resource=1, reduction_factor=eta,
                                                              min_early_stopping_rate=b)
                      for b in range(rungs if hyperband else 1)]

    def first_rung(self, number: int) -> int:
        """The rung trial ``number`` starts at: its bracket, or 0 without brackets."""
        return bracket_of(number, self.rungs, self.eta) if self.hyperband else 0

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        model = trial.params.get(MODEL_PARAM)
        if not self.hyperband:
            return self.inner[0].prune(_FamilyView(study, model), trial)
        bracket = self.first_rung(trial.number)
        view = _FamilyView(study, model, lambda number: self.first_rung(number) == bracket)
        return self.inner[bracket].prune(view, trial)
