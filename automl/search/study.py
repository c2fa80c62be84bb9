"""Creating the Optuna study and running the search loop."""

from __future__ import annotations

import contextlib
import logging
from typing import Callable, Sequence

import optuna

from automl.search.progress import Progress
from automl.search.budget import Budget
from automl.search.objective import DEFAULT_ATTR, Objective
from automl.search.pruner import FamilyPruner
from automl.search.sampler import ModelChoiceSampler
from automl.trial import MODEL_PARAM
from automl.spec import ModelSpec

log = logging.getLogger(__name__)


def make_pruner(rungs: int, eta: int) -> optuna.pruners.BasePruner:
    """Optuna's successive halving, applied within each model family (see ``pruner.py``;
    its rung state lives in the study's storage, so several processes sharing one study
    prune consistently); none with a single rung."""
    if rungs <= 1:
        return optuna.pruners.NopPruner()
    return FamilyPruner(eta)


def make_study(storage, study_name: str | None, seed: int, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    """A maximising study with a seeded TPE sampler (the model drawn on complete
    trials only, see ``sampler.py``) and the given pruner.

    ``storage`` is ``None`` (in memory), an Optuna storage URL (``sqlite:///x.db``,
    ``postgresql://...``) or a storage object (e.g. a ``JournalStorage``). With a
    storage and a ``study_name`` an existing study is resumed.
    """
    with quiet_optuna():
        return optuna.create_study(
            storage=storage,
            sampler=ModelChoiceSampler(seed=seed),
            pruner=pruner,
            study_name=study_name,
            direction="maximize",
            load_if_exists=study_name is not None,
        )


@contextlib.contextmanager
def quiet_optuna():
    """Optuna logs every trial at INFO; we report progress and failures ourselves."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def enqueue_defaults(study: optuna.Study, specs: Sequence[ModelSpec]) -> int:
    """Queue every spec's default configurations, cheapest models first, first defaults
    of all models before second ones. Configurations already in the study are skipped."""
    done = {
        (t.params.get(MODEL_PARAM), t.user_attrs.get(DEFAULT_ATTR))
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get(DEFAULT_ATTR) is not None
    }
    order = sorted(specs, key=lambda s: s.cost)
    queued = 0
    for i in range(max(len(s.default_params) for s in specs)):
        for spec in order:
            if i < len(spec.default_params) and (spec.name, i) not in done:
                study.enqueue_trial({MODEL_PARAM: spec.name}, user_attrs={DEFAULT_ATTR: i})
                queued += 1
    return queued


def run_search(
    study: optuna.Study,
    objective: Objective,
    budget: Budget,
    n_trials: int | None,
    progress: Progress | None = None,
    observer: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
) -> None:
    """Run trials until ``n_trials`` or the budget (keeping the refit reserve) runs out.

    Ctrl-C stops the search, not the fit: the trials finished so far are kept and used.
    ``observer`` is called after every trial (``automl.search.observers.TrialObserver``: the
    plugins' ``automl_trial_finished``; it never raises).
    """

    def stop_when_out_of_time(study: optuna.Study, trial) -> None:
        if budget.search_remaining() <= 0:
            study.stop()

    timeout = None if budget.total is None else max(budget.search_remaining(), 0.0)
    callbacks = [stop_when_out_of_time] + ([progress] if progress else []) + ([observer] if observer else [])
    with quiet_optuna():
        try:
            study.optimize(objective, n_trials=n_trials, timeout=timeout, callbacks=callbacks)
        except KeyboardInterrupt:
            log.warning("Search interrupted; going on with the %d trials finished so far.", len(study.trials))
        finally:
            if progress:
                progress.close(study)
