"""The Optuna objective: pick a model, draw its parameters, climb the rungs, score.

A trial trains on every validation fold at each rung of its model's fidelity (see
``fidelity.py``), reports the rung's CV score and stops when the pruner says so. Its
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

import importlib
import logging
import os
import socket
import time

import numpy as np
import optuna
from sklearn.pipeline import Pipeline

from automl._json import jsonable
from automl.data.sampling import subsample
from automl.preprocessing.pipeline import at_fidelity, continues, previous_model
from automl.search.budget import SLOW_RUNG_FACTOR, Budget, refit_basis
from automl.search.defaults import defaults_for
from automl.search.fidelity import (RungLeaders, describe, large_rung_resources, rung_resources, rung_step,
                                    scoring_rows)
from automl.search.isolation import OutOfTime as _OutOfTime, SlowRung as _SlowRung, Trainer
from automl.search.kept_folds import KEEP_FOLDS_BYTES, KeptFolds, untouched, would_keep
from automl.search.memory import fitted_bytes, map_large_allocations, release_freed_memory, too_big
from automl.search.prepared import PreparedFolds
from automl.search.search_data import SearchData
from automl.search.sampler import ModelChoiceSampler
from automl.search.record import DEFAULT_ATTR, TrialRecord, note_device, read, write
from automl.search.rung_gain import RungGate
from automl.search.store import MemoryResults
from automl.trial import FAILED, MODEL_PARAM, OK, PRUNED, SKIPPED, STOPPED, NamespacedTrial
from automl.spec import BuildContext, ModelSpec
from automl.search.threads import fit_threads, threads_for
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
#: A model that cannot continue from rung to rung skips the lower rungs when its full
#: trial takes less than this fraction of the time budget (see ``_straight_to_full``).
CHEAP_FRACTION = 0.02
#: On a large table's holdout (``fold_final``) a trial trains a higher row rung only when it
#: takes at most this share of the search time left; the rest screens other configurations
#: on the small rungs (a million rows at 120 s: LightGBM's top rung took 60 of the 95 s,
#: leaving 4 trials in all, for +0.0014 AUC over its model of a third of the rows).
PROMOTION_SHARE = 0.5


class Objective:
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

    def _climb(self, trial, spec: ModelSpec, params: dict) -> tuple[float, np.ndarray, float, list | None]:
        """Evaluate rung by rung; return the full-resource score, OOF predictions, training
        time and the fitted fold pipelines (None when they are not the trial's final model).

        Trials compete only within their model family (``pruner.FamilyPruner``). A
        model's first default configuration is its baseline and is never pruned (the
        budget may still stop it), so every family gets one full-resource score; unless
        the model continues training from rung to rung, the baseline skips the middle
        rungs, and so do all trials of a cheap model (``_straight_to_full``).

        With an early-stopping fidelity (boosting rounds) the resource is the number of
        rounds, so every rung is a complete model of all the training rows: the trial
        keeps its best rung, also when the budget stops it before the last one (early
        stopping on the rung grid), and the refit trains that many rounds. Any other
        fidelity that is a parameter (trees, iterations, epochs) also makes each rung a
        complete model of all the rows: a climb the budget stops keeps its last finished
        rung, refit with that parameter, so its score is that of the model it refits.
        Only a fraction of the rows is not: such a trial stopped by the budget has no score,
        except on large data on a holdout under a budget (``fold_final``), where the model of
        the last finished rung's rows is kept (its holdout model may be the final model).

        On large data (``row_rungs``) the lower rungs train on a fraction of the rows (see
        ``fidelity.py``): only the last is a model of all of them, nothing continues from
        rung to rung, boosters stop early (``spec.early_stop``) and are refit at the rounds kept.
        """
        baseline = trial.user_attrs.get(DEFAULT_ATTR) == 0
        large = self.row_rungs is not None
        keeps_best = spec.fidelity is not None and spec.fidelity.early_stopping and not large
        complete_rungs = spec.fidelity is not None and not spec.fidelity.is_sample_fraction and not large
        resources = (large_rung_resources(spec.fidelity, self.rungs, self.eta, spec.early_stop is not None) if large
                     else rung_resources(spec.fidelity, self.rungs, self.eta))
        fractions = self.row_rungs or [1.0] * self.rungs
        done = self._full_seconds.get(spec.name)
        whole = float(np.median(done)) if done else None
        if whole is None and large:  # its top rung, priced per row from the highest rung it trained so far
            rows, k = sum(len(tr) for tr, _ in self.data.splits), max(self._highest.get(spec.name, -1), 0)
            per = self.budget.estimate(f"{spec.name}@{k}", rows)
            whole = per and per * (resources[-1] / resources[k] if resources[k] else 1.0)
        if not complete_rungs and not self.fold_final and whole is not None and not self.budget.can_afford(whole):
            # its lower rungs would be wasted: a climb cut by the budget leaves no model (on a
            # large table's holdout it leaves its last rung's: the climb goes as far as it can)
            raise _OutOfTime(f"not enough time left for a whole {spec.name} trial (about {whole:.1f} s)")
        self._unit_seconds = None
        self._gate = RungGate(self.data)  # stops a continued rung worse than the one before
        if not self.trainer.isolated(spec):  # imported before the first rung is timed: it prices the refit
            for module in spec.requires:
                importlib.import_module(module)
        fitted: list = [None] * len(self.data.splits)  # fold pipelines: warm starts, and the final model's fallback
        previous: tuple | None = None  # (resource, score, oof, seconds) of the last rung trained
        best: tuple | None = None  # the same, for the best rung so far
        best_fitted: list = []  # the fold pipelines of the best rung
        last = len(resources) - 1
        trained = 0.0  # seconds of training behind the current fold models
        cut = False  # the budget stopped the climb before the last rung
        rows = rounds = None  # the share of the rows of the last rung trained; the rounds it kept (early stopped)
        for k, (resource, fraction) in enumerate(zip(resources, fractions)):
            if k < last and self._straight_to_full(spec, baseline, k):
                continue
            if previous is None or resource != previous[0] or fraction != rows:
                try:
                    oof, seconds = self._rung(spec, params, k, resource, fitted, previous, fraction, rows)
                except _OutOfTime as exc:
                    if large and self.fold_final and previous is not None and all(p is not None for p in fitted):
                        previous = self.data.scored_on_all(previous, fitted)
                        # its model of the last rung's rows is a final model here (refit_best): keep it
                        # (at ten million rows in 600 s no trial reached its top rung before this)
                        write(trial, note="; ".join(filter(None, [f"{exc}; kept its last rung ({rows:.0%} of the rows)",
                                                                  read(trial, "note")])))
                        break
                    if not complete_rungs or best is None:
                        raise
                    write(trial, note="; ".join(filter(None, [f"{exc}; kept its {'best' if keeps_best else 'last'} rung",
                                                              read(trial, "note")])))
                    cut = True
                    break
                trained = trained + seconds if self._continues(spec) else seconds
                if previous is None and resource and self._continues(spec):
                    self._unit_seconds = seconds / resource  # trained from scratch: it prices the refit
                rows, rounds = fraction, self._kept_rounds
                note_device(trial, fitted)
                previous = (resource, self.data.score(oof), oof, trained)
                if best is None or previous[1] > best[1]:
                    # (a model trained on in place is the same object at every rung: no copy to keep)
                    best, best_fitted = previous, list(fitted) if keeps_best or not self._continues(spec) else []
            write(trial, rung=k, resource=describe(spec.fidelity, resource if rounds is None else rounds, fraction))
            if k < last:
                # An early-stopping model keeps its best rung, so that is the score it competes with.
                trial.report((best if keeps_best else previous)[1], step=rung_step(k, self.eta))
                if trial.should_prune() and not baseline:
                    raise optuna.TrialPruned(f"pruned at rung {k}")
                if large and (behind := self._rung_best.behind(k, previous[1])  # baselines too
                              or (k + 1 < last and self._rung_best.outranked(k, previous[1]))):
                    raise optuna.TrialPruned(f"pruned at rung {k}: {behind}")
        kept = best if keeps_best else previous
        if cut or kept is not previous:
            # Fewer rounds scored better, or the budget stopped the climb: keep that rung.
            params[spec.fidelity.param] = int(round(kept[0]))
            write(trial, params=jsonable(params, strict=True), refit_resource=describe(spec.fidelity, kept[0]))
            folds = untouched(best_fitted if kept is best else None, fitted)
            if folds is None and kept is previous and not self._rung_trained and all(p is not None for p in fitted):
                folds = fitted  # the cut rung trained no fold: these are still the kept rung's models
            return kept[1], kept[2], kept[3], folds
        if rounds is not None:  # stopped early on the validation rows: the refit trains those rounds
            params[spec.fidelity.param] = rounds
            write(trial, params=jsonable(params, strict=True))
        write(trial, refit_resource=describe(spec.fidelity, previous[0] if rounds is None else rounds, rows))
        return previous[1], previous[2], previous[3], fitted if all(p is not None for p in fitted) else None

    def _rung(self, spec, params, k, resource, fitted, previous, fraction: float = 1.0,
              previous_fraction: float | None = None) -> tuple[np.ndarray, float]:
        """Train every fold at ``resource`` on ``fraction`` of its rows (``previous_fraction``: ``previous``'s)."""
        self._rung_trained = False
        d = self.data
        fid = spec.fidelity
        key = f"{spec.name}@{k}"
        train_rows = max(1, round(fraction * sum(len(tr) for tr, _ in d.splits)))
        estimate = self.budget.estimate(key, train_rows)
        if estimate is None and previous is not None and ((previous[0] and resource) or fraction != previous_fraction):
            # cost grows with the resource and the rows; a continued model trains only the difference
            estimate = previous[3] * fraction / (previous_fraction or 1.0)
            if previous[0] and resource:
                extra = resource - previous[0] if self._continues(spec) else resource
                estimate *= extra / previous[0]
        cap = self.budget.probe_limit(estimate) if k < self.rungs - 1 else None  # a lower rung: a probe
        if estimate is not None and k == self.rungs - 1 and not self.fold_final:
            # A full-resource trial may become the best: its refit must fit too, unless its fold
            # models (this rung's: as large as the last rung's by the resource and rows added)
            # would stand in for it (Budget.note_best). A continued model's estimate is only the
            # rounds it adds; its refit trains them all.
            growth = (resource / previous[0] if resource and previous and previous[0] else 1.0) * (
                fraction / (previous_fraction or fraction))
            if not would_keep(fitted, growth):
                behind = previous[3] if previous is not None and self._continues(spec) else 0.0
                basis = refit_basis(behind + estimate, self._unit_seconds, resource)
                estimate += max(0.0, self.refit_estimate(basis, spec) - self.budget.refit_reserve())
        if self.budget.search_remaining() <= 0 or (estimate is not None and not self.budget.can_afford(estimate)):
            raise _OutOfTime(
                f"not enough time left for {spec.name} at rung {k}"
                + (f" (about {estimate:.1f} s)" if estimate is not None else "")
            )
        if k and self.fold_final and estimate is not None and (
                estimate > PROMOTION_SHARE * self.budget.search_remaining()):
            raise _OutOfTime(f"not enough time left for {spec.name} at rung {k} (about {estimate:.1f} s, more than "
                             f"{PROMOTION_SHARE:.0%} of the search time left)")
        shape = (len(d.y), d.n_classes) if d.n_classes else (len(d.y),)
        oof, seen = np.zeros(shape), np.zeros(len(d.y))  # repeated folds (cv_repeats): the mean over draws
        t0, preparing = time.perf_counter(), 0.0
        stoppable = fid is not None and fid.early_stopping  # loops over rounds or epochs
        remote = self.trainer.isolated(spec)  # trained in the worker process
        early = self.row_rungs is not None and spec.early_stop is not None and not remote
        self._kept_rounds, kept = None, []
        gated = stoppable and self._continues(spec)  # a continued model that keeps its best rung
        last_use = k == self.rungs - 1 or not self._continues(spec)
        # a lower row rung is scored on a sample (a worker process predicts all the rows anyway)
        sampled = self.row_rungs is not None and k < self.rungs - 1 and not remote
        for i, (tr, va) in enumerate(d.splits):
            scored = scoring_rows(len(va), self.seed + i) if sampled else None
            if i and self.budget.search_remaining() <= 0:
                raise _OutOfTime(f"time ran out during {spec.name} at rung {k}")
            positions = np.arange(len(tr))
            share = fraction * (resource if fid is not None and fid.is_sample_fraction and resource is not None else 1.0)
            if share < 1.0:
                positions = np.flatnonzero(np.isin(tr, subsample(tr, share, d.y, self.seed + i)))
            threads = threads_for(len(positions), self.n_jobs)  # OpenMP/BLAS threads, as the model's
            with fit_threads(threads):
                p0 = time.perf_counter()
                fold = self.prepared.get(spec, i, None if remote else positions)
                preparing += time.perf_counter() - p0
            self._rung_trained = True  # (a model trained on in place is no longer the last rung's)
            model, scores = self.trainer.fit_fold(  # here or in the worker process (isolation.py)
                spec, self._trial_number, i, fold, positions, d.y[tr][positions], params, resource,
                self.context(len(positions), None if cap is None else cap - (time.perf_counter() - t0 - preparing)),
                previous_model(fitted[i], self._continues(spec)),
                threads, d.n_classes, self.budget.search_remaining, y_valid=d.y[va] if early else None,
                valid_rows=scored)
            if early:
                kept.append(int(model.get_params()[fid.param]))
            if stoppable and self.budget.search_remaining() <= 0:
                # it may have stopped at its time limit (BuildContext.time_limit): unfinished
                raise _OutOfTime(f"the budget ran out during {spec.name} at rung {k}")
            if stoppable and cap is not None and time.perf_counter() - t0 - preparing >= 0.95 * cap:
                raise _SlowRung(f"stopped at rung {k} at its limit of {cap:.1f} s ({SLOW_RUNG_FACTOR:g}x the usual time of "
                                f"{spec.name} there, or more): too slow a configuration for this budget")
            if bad := int(np.size(scores) - np.isfinite(scores).sum()):
                raise ValueError(f"{spec.name} predicted {bad} NaN or infinite value(s) for the validation rows")
            rows = va if scored is None else va[scored]
            if gated:
                self._gate.add(spec.name, k, rows, scores)
            oof[rows] += scores
            seen[rows] += 1
            fitted[i] = Pipeline([("prep", fold.prep), ("model", model)])  # both fitted: the fold's model
            if last_use and fitted_bytes(model) * len(d.splits) > KEEP_FOLDS_BYTES:
                fitted[i] = None  # too large to keep (see _keep), and no later rung trains on from it
        oof /= np.maximum(seen, 1).reshape(-1, *([1] * (oof.ndim - 1)))
        oof[seen == 0] = np.nan
        seconds = time.perf_counter() - t0 - preparing  # the model's time: preparing folds is done once
        self.budget.record(key, seconds, train_rows)
        self._highest[spec.name] = max(k, self._highest.get(spec.name, -1))
        self._kept_rounds = max(kept) if kept else None
        return oof, seconds

    def refit_estimate(self, cv_seconds: float, spec: ModelSpec | None = None) -> float:
        """Seconds to refit on all rows a model whose full-resource CV took ``cv_seconds``.
        Its folds may have come prepared (``prepared.py``), the refit prepares all rows:
        that time is added, for ``spec``'s kind of preprocessing (unknown: the slowest)."""
        n_folds = len(self.data.splits)
        scale = len(self.data.y) / max(len(self.data.splits[0][0]), 1)
        return 1.2 * scale * (cv_seconds / n_folds + self.prepared.seconds(spec))

    def _straight_to_full(self, spec: ModelSpec, baseline: bool, k: int) -> bool:
        """Skip rung ``k`` (not the last) of a model that cannot continue from rung to rung,
        where the rung would only cost time: the baseline is never pruned (it trains its
        first rung, the probe that prices the full one), and a model whose full trial
        takes under ``CHEAP_FRACTION`` of the budget saves almost nothing when pruned,
        while every promotion pays for its lower rungs again."""
        if self._continues(spec):
            return False
        if baseline and k > 0 and self.row_rungs is None:  # large data: it climbs, so each rung prices the next
            return True
        done = self._full_seconds.get(spec.name)
        total = self.budget.total
        return bool(done) and total is not None and float(np.median(done)) < CHEAP_FRACTION * total

    def _continues(self, spec: ModelSpec) -> bool:
        """Fold models train on to the next rung (never on large data: the rows change)."""
        return continues(spec) and self.row_rungs is None

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
