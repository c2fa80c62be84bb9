"""Fold models kept from the search, within byte caps.

A trial's fitted fold pipelines (each trained on its fold's training rows, validated on the
rest) are freed when it ends, except for two uses:

* the best trial's: the final model when refitting it on all rows would overrun the
  budget (``FoldAverage``), and out-of-fold feature importances after ``fit``;
* each model family's best trial's: an ensemble member whose refit does not fit in the
  time left joins as its fold models averaged instead of being dropped (the MLP's refit
  is the one that most often does not fit).

Fully grown forests' fold models reach 100-500 MB each on the shared datasets, so the
best trial's are kept only up to ``KEEP_FOLDS_BYTES`` and the families' only while all of
them together stay under ``MEMBER_FOLDS_BYTES``; the others are refit when needed.
"""

from __future__ import annotations

import logging
from typing import Callable

from automl.search.memory import fitted_bytes

log = logging.getLogger(__name__)

#: The best trial's fold models are kept only up to this many bytes.
KEEP_FOLDS_BYTES = 128 * 2**20
#: The families' best trials' fold models, all together, up to this many bytes.
MEMBER_FOLDS_BYTES = 48 * 2**20


def untouched(kept: list | None, now: list) -> list | None:
    """The fold pipelines of a kept lower rung, when the later rungs trained new models
    (LightGBM and XGBoost boost on in a copy) or none at all (the budget stopped the next
    rung before its first fold), rather than the same ones further (a ``warm_start``
    continues in place, in a new pipeline): else None, they are no longer that rung's models."""
    if not kept or any(p is None for p in kept):
        return None
    if any(a is not b and a.named_steps["model"] is b.named_steps["model"] for a, b in zip(kept, now)
           if b is not None):
        return None
    return kept


def would_keep(fitted: list, growth: float = 1.0) -> bool:
    """Whether a trial's fold models, ``growth`` times as large as ``fitted`` (its last rung's),
    would be kept as the best trial's: averaged, they then stand in for a refit that does not
    fit in the time left (the MLP alone on letter at 60 s: its first default's last rung, 14 s,
    was not trained for its refit's estimated 33 s on top; its 20-epoch rung's model was final)."""
    return all(p is not None for p in fitted) and growth * fitted_bytes(fitted) <= KEEP_FOLDS_BYTES


class KeptFolds:
    """``best``: (trial, fold pipelines) of the best trial, or None; ``of(trial)``: the
    fold pipelines kept for a trial, or None. ``fetch`` brings fold models home from the
    worker process that trained them (``Trainer.fetch``)."""

    def __init__(self, fetch: Callable[[list], list] = lambda folds: folds):
        self.fetch = fetch
        self.best: tuple[int, list] | None = None
        self._members: dict[int, tuple[list, int]] = {}  # trial -> (fold pipelines, bytes)
        self._family: dict[str, tuple[float, int]] = {}  # model -> (best score, its trial)

    def offer(self, trial: int, model: str, score: float, folds: list | None, best: bool) -> list | None:
        """Keep ``folds`` of a finished trial where they serve (see the module docstring);
        returns them when they are kept as the best trial's, else None."""
        family_best = score > self._family.get(model, (float("-inf"), -1))[0]
        if not (best or family_best):
            return None
        if best:
            self.best = None  # the last best's fold models are freed before these are fetched
        if family_best:
            self._members.pop(self._family.get(model, (0.0, -1))[1], None)
            self._family[model] = (score, trial)
        folds = self.fetch(folds) if folds else None
        if not folds:
            return None
        size = fitted_bytes(folds)
        if family_best and size + sum(b for _, b in self._members.values()) <= MEMBER_FOLDS_BYTES:
            self._members[trial] = (folds, size)
        if best and size <= KEEP_FOLDS_BYTES:
            self.best = (trial, folds)
            return folds
        if best:
            log.debug("Trial %d's fold models (%.0f MB) are not kept: refit when needed.", trial, size / 2**20)
        return None

    def of(self, trial: int | None) -> list | None:
        if self.best is not None and self.best[0] == trial:
            return self.best[1]
        kept = self._members.get(trial)
        return None if kept is None else kept[0]
