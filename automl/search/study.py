"""Creating the Optuna study and running the search loop."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
import warnings
from typing import Callable

import optuna

from automl.search.progress import Progress
from automl.search.budget import Budget
from automl.search.objective import Objective
from automl.search.store import GRACE_SECONDS
from automl.search.pruner import FamilyPruner
from automl.search.sampler import ModelChoiceSampler

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
    ``postgresql+psycopg://...``) or a storage object (``store.open_storage``). With a
    storage and a ``study_name`` an existing study is joined: the sampler's seed then
    also counts the trials already there and this process's id, so that a resumed search
    or a second worker does not draw the configurations the others drew (a configuration
    drawn twice is not trained twice all the same: see ``Objective``).
    """
    with quiet_optuna():
        study = optuna.create_study(
            storage=storage,
            sampler=ModelChoiceSampler(seed=seed),
            pruner=pruner,
            study_name=study_name,
            direction="maximize",
            load_if_exists=study_name is not None,
        )
    started = len(study.get_trials(deepcopy=False))
    if started:
        study.sampler = ModelChoiceSampler(seed=seed + started + os.getpid())
    return study


@contextlib.contextmanager
def quiet_optuna():
    """Optuna logs every trial at INFO; we report progress and failures ourselves."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)


#: The study's user attribute that tells its workers to stop (set when a fit's search ends).
STOP_ATTR = "automl_stop"


def run_search(
    study: optuna.Study,
    objective: Objective,
    budget: Budget,
    n_trials: int | None,
    progress: Progress | None = None,
    observer: Callable[[optuna.Study, optuna.trial.FrozenTrial], None] | None = None,
    until_stopped: bool = False,
) -> None:
    """Run trials until ``n_trials`` or the budget (keeping the refit reserve) runs out.

    Ctrl-C stops the search, not the fit: the trials finished so far are kept and used.
    ``observer`` is called after every trial (``automl.search.observers.TrialObserver``: the
    plugins' ``automl_trial_finished``; it never raises). A worker (``until_stopped``)
    also stops when the study's stop signal is set (:func:`signal_stop`).
    """
    started, since = 0, time.time()  # trials this call has run; a stop signal older than the call is stale

    def stop_when_out_of_time(study: optuna.Study, trial) -> None:
        nonlocal started
        started += 1
        if budget.search_remaining() <= 0 or (until_stopped and (study.user_attrs.get(STOP_ATTR) or 0) > since):
            study.stop()

    callbacks = [stop_when_out_of_time] + ([progress] if progress else []) + ([observer] if observer else [])
    with quiet_optuna():
        try:
            while n_trials is None or started < n_trials:
                timeout = None if budget.total is None else max(budget.search_remaining(), 0.0)
                try:
                    study.optimize(objective, n_trials=None if n_trials is None else n_trials - started,
                                   timeout=timeout, callbacks=callbacks)
                    break
                except ValueError as exc:  # another process finished our trial: its heartbeat looked dead
                    if not str(exc).startswith(("Cannot tell a FAIL trial", "Cannot tell a PRUNED trial")):
                        raise
                    started += 1
                    log.warning("A trial of this process was declared dead by another one (no heartbeat for "
                                "%s s, a stalled machine?); its result is dropped and the search goes on.", GRACE_SECONDS)
                    if budget.search_remaining() <= 0:
                        break
        except (Exception, KeyboardInterrupt) as exc:
            if not _interrupted(exc):
                raise
            _release_storage(study)
            _stop_heartbeats(study)
            log.warning("Search interrupted; going on with the %d trials finished so far (interrupt again to stop "
                        "at once).", len(study.trials))
        finally:
            objective.trainer.close()  # its worker process, if any
            if progress:
                progress.close(study)
            # A trial a dead process left RUNNING is failed (and queued again) once its heartbeat is stale.
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                optuna.storages.fail_stale_trials(study)


def _interrupted(exc: BaseException) -> bool:
    """Whether ``exc`` is Ctrl-C, or an error it caused. Ctrl-C can land anywhere, in Optuna's
    own bookkeeping too, where it surfaces as another error (Optuna 5's ``_run_trial`` then
    raises ``UnboundLocalError`` from its ``finally``) with the interrupt as its context."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False


def _release_storage(study: optuna.Study) -> None:
    """Close this thread's database session after Ctrl-C: an interrupt inside one of Optuna's
    writes skips its rollback, and on SQLite the open transaction keeps the file locked, so the
    writes of other connections (the heartbeat thread, other processes) read "database is
    locked" (in CI the CLI's fit then failed with a StorageInternalError)."""
    storage = getattr(study, "_storage", None)
    storage = getattr(storage, "_backend", storage)  # Optuna wraps an RDBStorage in a cache
    session = getattr(storage, "scoped_session", None)
    if session is not None:
        with contextlib.suppress(Exception):
            session.remove()  # rolls back the interrupted transaction


def _stop_heartbeats(study: optuna.Study) -> None:
    """Stop the trial heartbeat threads of ``study``'s storage left beating after Ctrl-C. One
    that lands in Optuna's ``HeartbeatThread.start`` (waiting for the new thread to run, as a
    trial begins) skips the ``with`` that would stop it: a non-daemon thread that beats for
    ever, so that ``automl fit`` wrote its model and never exited (seen in CI). The thread's
    stop event is its target's last argument (Optuna's ``_record_heartbeat``)."""
    for thread in threading.enumerate():
        target, args = getattr(thread, "_target", None), getattr(thread, "_args", ())
        if getattr(target, "__name__", "") == "_record_heartbeat" and len(args) == 3 and args[1] is study._storage \
                and isinstance(args[2], threading.Event):
            args[2].set()


def signal_stop(study: optuna.Study, stop: bool = True) -> None:
    """Tell the study's workers to stop after their current trial (``stop=False``: clear
    it). The signal is the time it was given: a worker started later does not obey it."""
    if stop or study.user_attrs.get(STOP_ATTR) is not None:
        study.set_user_attr(STOP_ATTR, time.time() if stop else None)
