"""The Optuna objective: pick a model, draw its parameters, climb the rungs, score.

A trial trains on every validation fold at each rung of its model's fidelity (see
``fidelity.py``; the training is ``climb.py``'s), reports the rung's CV score and stops
when the pruner says so. Its
value is the score at the full resource only, so a low-rung score is never compared
with a full one when the final model is chosen. Models that can continue training
(``spec.warm_start``) keep their fitted fold models from one rung to the next.

Each trial writes its :class:`~automl.search.record.TrialRecord` (model parameters,
rung reached and resource used there, fit time, status, error, worker) into the study,
and its out-of-fold predictions into the search's result store (``store.py``). A
configuration that already ran in the study (in this process or another) is not trained
again: the trial is skipped.
"""

from __future__ import annotations

import logging
import os
import socket
import time

import numpy as np
import optuna

from automl._json import jsonable
from automl.preprocessing.pipeline import at_fidelity
from automl.search.budget import Budget, refit_basis
from automl.search.climb import RungClimb
from automl.search.defaults import defaults_for
from automl.search.fidelity import RungLeaders
from automl.search.isolation import OutOfTime as _OutOfTime, SlowRung as _SlowRung, Trainer
from automl.search.kept_folds import KeptFolds
from automl.search.memory import map_large_allocations, release_freed_memory, too_big
from automl.search.prepared import PreparedFolds
from automl.search.search_data import SearchData
from automl.search.sampler import ModelChoiceSampler
from automl.search.record import DEFAULT_ATTR, TrialRecord, read, write
from automl.search.store import MemoryResults
from automl.trial import FAILED, MODEL_PARAM, OK, PRUNED, SKIPPED, STOPPED, NamespacedTrial
from automl.spec import BuildContext, ModelSpec
from automl.search.threads import threads_for
from automl.search.twins import same_configuration

log = logging.getLogger(__name__)

#: The search stops after MIN_UNAFFORDABLE trials in a row could not afford their first rung
#: once every model it may still draw was among them (cheaper models may still fit after an
#: expensive one does not: on letter at 60 s the boosters' queued defaults were 5 such trials
#: in a row after a first LightGBM of 22 s, and the search stopped with 14 s of its own left,
#: the fit at 37 s), or after MAX_UNAFFORDABLE such trials in a row. (Stopping at the first
#: such trial of a search with one model ended the MLP alone on california_housing at 38.6 s
#: of 60 after 2 trials; 9 trials and 48.1 s with 5.)
MIN_UNAFFORDABLE = 5
MAX_UNAFFORDABLE = 40
#: A model whose fit raised this many times in a row is not trained again in the search.
MAX_FAILURES = 3
class Objective(RungClimb):
    """Callable for ``study.optimize``; returns the full-fidelity CV score (greater is better)."""

    def __init__(
        self,
        data: SearchData,
        specs: dict[str, ModelSpec],
        budget: Budget,
        seed: int,
        n_jobs: int,
        rungs: int = 1,
        eta: int = 3,
        results=None,
        trainer: Trainer | None = None,
        memory_limit: int | None = None,
        row_rungs: list[float] | None = None,
    ):
        map_large_allocations()  # freed buffers go back to the system, not to the heap
        self.data = data
        self.specs = specs
        self.budget = budget
        self.seed, self.n_jobs = seed, n_jobs
        # Large data (``fidelity.row_fractions``): the share of the rows each rung trains on (None: all)
        self.row_rungs = row_rungs
        self.rungs = len(row_rungs) if row_rungs else rungs
        # Large data validated on a holdout, under a time budget: the best trial's model of the
        # holdout's training rows is the final model (``refit_best``), as AutoGluon's is by
        # default; a refit on all rows would take the time of several trials for little gain.
        self.fold_final = row_rungs is not None and len(data.splits) == 1 and budget.total is not None
        self._kept_rounds: int | None = None  # the rounds the last rung's early-stopped models kept
        self._unit_seconds: float | None = None  # a continued climb's first rung: seconds per unit (refit_basis)
        self._rung_trained = False  # the last rung began training a fold
        self._highest: dict[str, int] = {}  # per model: the highest rung trained (large data: prices its top)
        self._rung_best = RungLeaders(eta)  # large data: halving across families
        self.eta, self.results = eta, MemoryResults(data.val_rows) if results is None else results
        self._best_score = -np.inf  # the best full score of this search so far
        self.worker = f"{socket.gethostname()}:{os.getpid()}"
        self._configurations: dict[int, str] = {}  # finished trials' configurations, for _same_configuration
        self._unaffordable = 0  # trials in a row whose first rung did not fit in the time left
        self._unaffordable_models: set[str] = set()  # their models
        self._failures: dict[str, int] = {}  # failed trials in a row, per model
        self._full_seconds: dict[str, list[float]] = {}  # training seconds of finished trials, per model
        self.prepared = PreparedFolds(data.X, data.y, data.profile, data.task, data.splits)
        self.trainer = Trainer("none") if trainer is None else trainer  # where folds train (isolation.py)
        self.kept = KeptFolds(self.trainer.fetch)  # the best trial's and each family's best fold models
        self.memory_limit = memory_limit  # bytes a trial may use (memory.py), None: no limit
        self._too_big: dict[str, str] = {}  # per model: why it needs more than memory_limit, or ""
        self._trial_number = -1  # the running trial's number
        self.trainer.start(specs.values())
        # while the worker starts, the folds its first trials need are prepared here
        self.trainer.warm_up(self.prepared.ahead([s for s in specs.values() if self.trainer.isolated(s)]))

    def context(self, n_rows: int, limit: float | None = None) -> BuildContext:
        """The build context of a fit that may take ``limit`` seconds (at most what the search has left)."""
        left = self.budget.search_remaining()
        if limit is not None:
            left = min(left, limit)
        return BuildContext(
            task=self.data.task,
            random_state=self.seed,
            n_jobs=threads_for(n_rows, self.n_jobs),
            n_classes=self.data.n_classes,
            time_limit=None if left == float("inf") else max(left, 0.0),
            n_rows=n_rows,
        )

    def params_for(self, trial, spec: ModelSpec) -> dict:
        """The enqueued default configuration, or a draw from the spec's search space."""
        index = trial.user_attrs.get(DEFAULT_ATTR)  # set when the configuration was queued
        defaults = defaults_for(spec, self.data.profile)
        if index is not None and int(index) < len(defaults):
            return dict(defaults[int(index)])
        return dict(spec.search_space(NamespacedTrial(trial, spec.name), self.data.profile))

    def __call__(self, trial: optuna.Trial) -> float:
        release_freed_memory()  # the last trial's models are freed: their pages go back to the system
        if isinstance(trial.study.sampler, ModelChoiceSampler):  # models given up on are not drawn
            trial.study.sampler.excluded = set(self.specs) - self._drawable()
        name = trial.suggest_categorical(MODEL_PARAM, sorted(self.specs))
        spec = self.specs[name]
        started = time.perf_counter()
        self._trial_number = trial.number
        # A retried trial (its process died) carries its first run's record: start afresh.
        fresh, stale = TrialRecord(), ("status", "rung", "resource", "refit_resource", "error", "note", "oof",
                                        "log_loss")
        write(trial, worker=self.worker, **{k: getattr(fresh, k) for k in stale if k in trial.user_attrs})
        if self._failures.get(name, 0) >= MAX_FAILURES:
            write(trial, status=SKIPPED, error=f"{name} failed {MAX_FAILURES} times in a row; not trained again")
            raise optuna.TrialPruned(f"{name} gave up")
        if self._too_big.get(name):
            write(trial, status=SKIPPED, error=self._too_big[name])
            raise optuna.TrialPruned(f"{name} needs too much memory")
        try:
            params = self.params_for(trial, spec)
            write(trial, params=jsonable(params, strict=True))
            twin = self._same_configuration(trial)
            if twin is not None:
                write(trial, status=SKIPPED, error=f"the same configuration as trial {twin}; not trained again")
                raise optuna.TrialPruned(f"same as trial {twin}")
            if self._over_memory(spec):
                write(trial, status=SKIPPED, error=self._too_big[name])
                raise optuna.TrialPruned(f"{name} needs too much memory")
            score, oof, full_time, folds = self._climb(trial, spec, params)
        except (_OutOfTime, optuna.TrialPruned) as exc:
            stopped = isinstance(exc, _OutOfTime)
            budget_stop = stopped and not isinstance(exc, _SlowRung)  # a too-slow configuration is pruned
            if budget_stop and read(trial, "rung") is None:
                self._unaffordable += 1
                self._unaffordable_models.add(name)
                every = self._unaffordable_models >= self._drawable()
                if ((every and self._unaffordable >= MIN_UNAFFORDABLE) or self._unaffordable >= MAX_UNAFFORDABLE
                        or self.budget.search_remaining() <= 0):
                    trial.study.stop()  # no first rung fits any more: the search is over
            if read(trial, "status") is None:
                write(trial, status=STOPPED if budget_stop else PRUNED)
            if stopped:
                write(trial, error=str(exc))
            write(trial, fit_time=round(time.perf_counter() - started, 3))
            raise optuna.TrialPruned(str(exc)) from None
        except Exception as exc:  # a model that fails is recorded; the search goes on
            write(trial, status=FAILED, error=f"{type(exc).__name__}: {exc}",
                  fit_time=round(time.perf_counter() - started, 3))
            log.warning("Trial %d (%s, plugin %r) failed: %s: %s", trial.number, name, spec.plugin,
                        type(exc).__name__, exc)
            self._failures[name] = self._failures.get(name, 0) + 1
            if self._failures[name] == MAX_FAILURES:
                log.warning("Model %s failed %d times in a row: it is not trained again in this search.",
                            name, MAX_FAILURES)
            return float("nan")
        self._unaffordable, self._unaffordable_models = 0, set()
        self._failures[name] = 0
        self._full_seconds.setdefault(name, []).append(full_time)
        write(trial, status=OK, fit_time=round(time.perf_counter() - started, 3), cv_seconds=round(full_time, 3),
              log_loss=self.data.log_loss(oof))
        refit_units = at_fidelity(spec, params)[spec.fidelity.param] if spec.fidelity and spec.fidelity.param else None
        self._keep(trial, spec, score, oof, refit_basis(full_time, self._unit_seconds, refit_units), folds)
        return score

    def cuttable(self, spec: ModelSpec) -> bool:
        """Whether ``spec``'s final refit may be cut to the time left (``Budget.cuts``): a model
        that stops in time keeping its best epoch, validated on a holdout, where the trial's
        fold model is one model of fewer rows (the large-data path serves it by design)."""
        return spec.stops_in_time and len(self.data.splits) == 1 and not self.fold_final

    def bags(self, spec: ModelSpec) -> bool:
        """Whether ``spec``'s kept fold models, averaged, are its final fit instead of a refit
        on all rows (bagging): a ``ModelSpec.bagged`` model on repeated folds (small tables)."""
        return spec.bagged and self.data.repeated

    def _drawable(self) -> set[str]:
        """The models the search may still train (not too big, not given up on)."""
        return {n for n in self.specs if not self._too_big.get(n) and self._failures.get(n, 0) < MAX_FAILURES}

    def _over_memory(self, spec: ModelSpec) -> bool:
        """Whether ``spec`` is predicted to need more than ``memory_limit`` (``memory.py``): never trained."""
        if self.memory_limit is not None and spec.name not in self._too_big:
            rows = max(len(tr) for tr, _ in self.data.splits)
            why = too_big(spec, rows, self.prepared.width(spec), self.memory_limit)
            self._too_big[spec.name] = why  # "" when it fits: checked once per model
            if why:
                log.warning("Model %s skipped: %s.", spec.name, why)
        return bool(self._too_big.get(spec.name))

    def _same_configuration(self, trial) -> int | None:
        """The number of a trial that ran (or runs) the same configuration (``twins.py``)."""
        return same_configuration(trial, self._configurations)

    @property
    def best_folds(self) -> tuple[int, list] | None:
        """(trial, fitted fold pipelines) of the best trial, when kept (``kept_folds.py``)."""
        return self.kept.best

    def _keep(self, trial, spec: ModelSpec, score: float, oof: np.ndarray, refit_cv_seconds: float,
              folds: list | None) -> None:
        """Keep the OOF predictions of the best trials, and the fold pipelines that may
        serve (``kept_folds.py``); update the refit reserve (priced from ``refit_cv_seconds``:
        ``budget.refit_basis``)."""
        best = score > self._best_score
        folds = self.kept.offer(trial.number, spec.name, score, folds, best)
        if best:
            self._best_score = score
            no_refit = (self.fold_final or self.bags(spec)) and folds
            self.budget.note_best(0.0 if no_refit else self.refit_estimate(refit_cv_seconds, spec),
                                  has_folds=bool(folds), cuttable=self.cuttable(spec))
        self.results.put(trial, score, oof)

    def resume(self, study: optuna.Study) -> int:
        """Take over what the study's finished trials tell (from earlier runs, or other
        processes): each model's training time, and the best score and its refit cost.
        Returns the number of finished trials."""
        done = [TrialRecord.from_trial(t) for t in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))]
        done = [r for r in done if r.model in self.specs and r.score is not None and np.isfinite(r.score)]
        for r in done:
            if r.cv_seconds is not None:
                self._full_seconds.setdefault(r.model, []).append(float(r.cv_seconds))
        best = max(done, key=lambda r: r.score, default=None)
        if best is not None:
            self._best_score = best.score
            if best.cv_seconds is not None:
                spec = self.specs[best.model]
                self.budget.note_best(self.refit_estimate(float(best.cv_seconds), spec), cuttable=self.cuttable(spec))
        return len(done)
