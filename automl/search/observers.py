"""Trial observers: the search callback that hands each finished trial to ``automl_trial_finished``.

:class:`TrialObserver` is an Optuna study callback. After each trial it builds one
:class:`~automl.trial.TrialInfo` from the finished trial and calls every plugin's observer with it,
each on its own: an observer that raises is logged with its plugin's name and the
search goes on; after :data:`MAX_FAILURES` failures in a row it is not called again.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Mapping, Sequence

import optuna

from automl.search.record import TrialRecord
from automl.trial import OK, TrialInfo

log = logging.getLogger(__name__)

#: An observer is not called again after this many failures in a row.
MAX_FAILURES = 3


def trial_info(trial: optuna.trial.FrozenTrial, metric: str, plugins: Mapping[str, str], study_name: str = "") -> TrialInfo:
    """The :class:`TrialInfo` of a finished Optuna trial (``plugins``: model name → plugin name)."""
    record = TrialRecord.from_trial(trial)
    duration = record.fit_time
    if duration is None and trial.datetime_start and trial.datetime_complete:
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
    return TrialInfo(
        number=trial.number,
        model=record.model,
        plugin=plugins.get(record.model, "") if record.model else "",
        params=dict(record.params),
        state=record.status,
        score=record.score if record.status == OK else None,
        metric=metric,
        rung=record.rung,
        resource=record.resource,
        duration=float(duration or 0.0),
        error=record.error,
        default=record.default_config is not None,
        study_name=study_name,
    )


class TrialObserver:
    """Optuna callback ``(study, trial)`` that hands each finished trial to the observers.

    ``observers``: ``(plugin name, function)`` pairs (``Registry.observers``);
    ``plugins``: model name → plugin name. Never raises.
    """

    def __init__(self, observers: Sequence[tuple[str, Callable[..., Any]]], metric: str, plugins: Mapping[str, str]):
        self.observers = list(observers)
        self.metric = metric
        self.plugins = dict(plugins)
        self.failures = {name: 0 for name, _ in self.observers}

    def __call__(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        if not self.observers:
            return
        try:
            info = trial_info(trial, self.metric, self.plugins, study.study_name)
        except Exception as exc:  # noqa: BLE001 - observing must never stop the search
            number = getattr(trial, "number", "?")
            log.warning("Trial %s could not be described for the observers: %s: %s", number, type(exc).__name__, exc)
            return
        for name, function in self.observers:
            if self.failures[name] >= MAX_FAILURES:
                continue
            try:
                function(trial=info)
            except Exception as exc:  # noqa: BLE001 - a plugin's bug must not stop the search
                self.failures[name] += 1
                log.warning(
                    "Plugin %r: automl_trial_finished raised on trial %d: %s: %s%s", name, trial.number,
                    type(exc).__name__, exc,
                    "; it is not called again in this search" if self.failures[name] >= MAX_FAILURES else "",
                )
            else:
                self.failures[name] = 0
