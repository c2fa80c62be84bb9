"""A study seen through a filter on its trials, for Optuna's pruners and samplers.

Optuna's pruners and samplers decide from the trials they read off the study. To make
one decide on some trials only (one model's, or complete ones), it is handed this view
instead of the study. It filters both the public ``get_trials`` and
``Study._get_trials``, which Optuna's own samplers read; everything else (direction,
storage, ...) is the real study's.
"""

from __future__ import annotations

from typing import Callable

import optuna
from optuna.trial import FrozenTrial


class StudyView:
    def __init__(self, study: optuna.Study, keep: Callable[[FrozenTrial], bool]):
        self._study = study
        self._keep = keep

    def get_trials(self, deepcopy: bool = True, states=None) -> list[FrozenTrial]:
        return [t for t in self._study.get_trials(deepcopy=deepcopy, states=states) if self._keep(t)]

    def _get_trials(self, deepcopy: bool = True, states=None, use_cache: bool = False) -> list[FrozenTrial]:
        trials = self._study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)
        return [t for t in trials if self._keep(t)]

    def __getattr__(self, name: str):
        return getattr(self._study, name)
