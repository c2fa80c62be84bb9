"""Climbing one trial's rungs: train a configuration on every validation fold at each rung
of its model's fidelity, under the search's budget.

:class:`RungClimb` is the part of the search's :class:`~automl.search.objective.Objective`
that trains: from rung to rung it continues the fold models that can (``spec.warm_start``),
prices each rung before training it (its refit too, where it may become the best), stops
a rung that takes many times its model's usual time, reports each lower rung's score to the
pruner, and keeps the best rung of a model that stops early. On large data (``row_rungs``)
the lower rungs train on a share of the rows (``fidelity.py``). The objective chooses the
model and its parameters and records the trial.
"""

from __future__ import annotations

import importlib
import time

import numpy as np
import optuna
from sklearn.pipeline import Pipeline

from automl._json import jsonable
from automl.data.sampling import subsample
from automl.preprocessing.pipeline import continues, previous_model
from automl.search.budget import SLOW_RUNG_FACTOR, refit_basis
from automl.search.fidelity import describe, large_rung_resources, rung_resources, rung_step, scoring_rows
from automl.search.isolation import OutOfTime as _OutOfTime, SlowRung as _SlowRung
from automl.search.kept_folds import KEEP_FOLDS_BYTES, untouched, would_keep
from automl.search.memory import fitted_bytes
from automl.search.record import DEFAULT_ATTR, note_device, read, write
from automl.search.rung_gain import RungGate
from automl.search.threads import fit_threads, threads_for
from automl.spec import ModelSpec

#: A model that cannot continue from rung to rung skips the lower rungs when its full
#: trial takes less than this fraction of the time budget (see ``_straight_to_full``).
CHEAP_FRACTION = 0.02
#: On a large table's holdout (``fold_final``) a trial trains a higher row rung only when it
#: takes at most this share of the search time left; the rest screens other configurations
#: on the small rungs (a million rows at 120 s: LightGBM's top rung took 60 of the 95 s,
#: leaving 4 trials in all, for +0.0014 AUC over its model of a third of the rows).
PROMOTION_SHARE = 0.5


class RungClimb:
    """Trains a trial rung by rung: the base of ``Objective``, whose constructor sets the
    state used here (``data``, ``budget``, ``trainer``, ``prepared``, ``rungs``, ``eta``,
    ``row_rungs``, ``fold_final``, ``seed``, ``n_jobs``, the per-model ``_full_seconds``,
    ``_highest`` and ``_rung_best``) and whose ``context`` builds each fit's context."""

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
