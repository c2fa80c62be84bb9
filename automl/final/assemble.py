"""From the finished search to the final model: refit the best trial on all rows (or
average its fold models when the refit would overrun), then build the ensemble.

It reads the study (every process's finished trials) through their records, and the
trials' out-of-fold predictions through the search's result store, so a resumed or
shared search assembles its final model from all its trials.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import optuna
from sklearn.pipeline import Pipeline

from automl.exceptions import SearchError
from automl.final.calibration import calibrate, floor_for
from automl.final.ensemble import Ensemble, build_ensemble, max_candidates, pick_candidates, single
from automl.final.fold_models import FoldAverage
from automl.final.latency import Latency, predict_times
from automl.preprocessing.pipeline import build_pipeline
from automl.search import fidelity
from automl.search.budget import Budget
from automl.search.cv import n_folds
from automl.search.objective import Objective
from automl.search.search_data import SearchData
from automl.search.record import TrialRecord
from automl.search.threads import fit_threads, threads_for
from automl.spec import BuildContext, ModelSpec

log = logging.getLogger(__name__)


@dataclass
class FinalModel:
    """The best trial refit (``pipeline``), the final ``ensemble`` and the out-of-fold
    predictions it was chosen on (``oof``: by trial)."""

    pipeline: object
    model: str
    trial: int | None
    score: float
    params: dict
    ensemble: Ensemble | None = None
    oof: dict[int, np.ndarray] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)  # seconds to "refit", to build the "ensemble"
    predict_ms: dict[int, tuple[float, float]] = field(default_factory=dict)  # trial → (1 row, 1,000 rows)


def finished_records(study: optuna.Study, specs: dict) -> dict[int, TrialRecord]:
    """The study's COMPLETE trials of the searched models with a finite score (all
    processes'), by trial number. Only these carry a full-resource score: Optuna gives a
    pruned trial the value of its last (lower) rung, which must never compete."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    records = (TrialRecord.from_trial(t) for t in complete)
    return {r.number: r for r in records if r.model in specs and r.score is not None and np.isfinite(r.score)}


def fit_pipeline(data: SearchData, spec: ModelSpec, params: dict, seed: int, n_jobs: int,
                 rows: np.ndarray | None = None, time_limit: float | None = None) -> Pipeline:
    """``spec``'s pipeline with ``params``, fitted on all rows or on ``rows`` (their float
    columns as float32 on large data, as in the search: half the memory of the copies);
    ``time_limit``: the model's ``BuildContext.time_limit``."""
    n = len(data.y) if rows is None else len(rows)
    ctx = BuildContext(data.task, seed, threads_for(n, n_jobs), n_classes=data.n_classes, n_rows=n,
                       time_limit=time_limit)
    large = len(data.y) > fidelity.ROW_RUNGS_ABOVE
    pipe = build_pipeline(spec, params, data.profile, ctx, float_dtype="float32" if large else "float64")
    with fit_threads(ctx.n_jobs):
        if rows is None:
            pipe.fit(data.X, data.y)
        else:
            pipe.fit(data.X.iloc[rows], data.y[rows])
    return pipe


def assemble(study: optuna.Study, data: SearchData, specs: dict, objective: Objective, budget: Budget,
             seed: int, n_jobs: int, infer_limit: float | None, calibration: str | None = "auto") -> FinalModel:
    """Refit the best trial, build the ensemble (see the module docstring), then calibrate
    its class probabilities on their out-of-fold values (``calibration``: "auto", a
    method of ``calibration.METHODS``, or None)."""
    t0 = time.perf_counter()
    records = finished_records(study, specs)
    latency = Latency(data.X.iloc[:1], data.n_classes, infer_limit)
    final, note = refit_best(data, specs, records, objective, budget, seed, n_jobs, latency)
    t1 = time.perf_counter()
    refits = {} if final.trial is None else {final.trial: final.pipeline}  # every pipeline refit on all rows
    final.ensemble = build_final_ensemble(final, data, specs, records, objective, budget, seed, n_jobs, refits,
                                          latency)
    if note:
        final.ensemble.notes.insert(0, note)
    oof = final_oof(final, data.val_rows)
    if oof is not None and calibration is not None:
        try:
            final.ensemble.calibrator, why = calibrate(oof, data.y[data.val_rows], data.task, data.metric, seed,
                                                       calibration)
        except Exception as exc:  # never fails the fit: the probabilities stay as they are
            why = f"probabilities not calibrated ({type(exc).__name__}: {exc})"
        if why:
            final.ensemble.notes.append(why)
    floor = floor_for(len(data.val_rows), data.metric) if calibration is not None else 0
    if data.task.is_classification and floor:
        final.ensemble.floor = floor
        final.ensemble.notes.append(f"probabilities mixed with {final.ensemble.floor:.2g} of the uniform distribution "
                                    f"(0.5 / (1 + the {len(data.val_rows)} out-of-fold rows)): never certain")
    final.ensemble.fast_path(data.n_classes)  # compile the members for few-row predictions now
    final.predict_ms = predict_times(refits, data.X, data.n_classes, latency, lambda: budget.remaining() - budget.margin)
    final.timings = {"refit": t1 - t0, "ensemble": time.perf_counter() - t1}
    return final


def final_oof(final: FinalModel, val_rows: np.ndarray) -> np.ndarray | None:
    """The final model's out-of-fold predictions on the validation rows: its members'
    combined as the final model combines them; None when a member's are not at hand."""
    ensemble = final.ensemble
    members = [m["trial"] for m in ensemble.members]
    if any(t not in final.oof for t in members):
        return None
    preds = [final.oof[t][val_rows] for t in members]
    return preds[0] if ensemble.combiner is None else ensemble.combiner.combine(preds)


def refit_best(data: SearchData, specs: dict, records: dict, objective: Objective, budget: Budget,
               seed: int, n_jobs: int, latency: Latency | None = None) -> tuple[FinalModel, str]:
    """Refit the best completed trial on all rows (the next one if it fails); the note
    says when the final model is not such a refit.

    When the refit would overrun the budget (the search ran late, or the refit is
    costlier than reserved), the best trial's fold models from the search, averaged, are
    the final model instead (``FoldAverage``: no training). So are a ``ModelSpec.bagged``
    model's on small tables whose folds are repeated (bagging), unless, averaged, they
    predict one row slower than ``latency``'s limit; so is, on large data validated
    on a holdout under a budget (``objective.fold_final``), the best trial's model of the
    holdout's training rows, when the search kept it. When no trial finished (a
    tiny budget), the cheapest model's first default configuration is fitted, so that
    ``fit`` still returns a model. A best model that stops in time (``Objective.cuttable``)
    is refit with the time left as its limit when enough of its refit fits there
    (``Budget.cuts``), and averaged with its model of the holdout's rows; that model alone
    only when not.
    """
    done = sorted(records.values(), key=lambda r: r.score, reverse=True)
    candidates = [(specs[r.model], r.params, r.number, r.score) for r in done]
    if not candidates:
        cheapest = min(specs.values(), key=lambda s: s.cost)
        log.warning("No trial finished within the budget; fitting %s with its default parameters.", cheapest.name)
        candidates = [(cheapest, dict(cheapest.default_params[0]), None, float("nan"))]
    folds = objective.best_folds
    for i, (spec, params, number, score) in enumerate(candidates):
        left = budget.remaining() - budget.margin
        if folds is not None and number == folds[0] and objective.fold_final:
            note = (f"on large data the final model is the best trial's model of the holdout's "
                    f"{len(data.splits[0][0])} training rows, not refit on all rows: that time went to the search")
            log.info("Final refit skipped: %s.", note)
            return FinalModel(FoldAverage(folds[1], data.n_classes), spec.name, number, score, dict(params)), note
        if folds is not None and number == folds[0] and objective.bags(spec):
            per_draw = n_folds(data.splits, len(data.y))
            bag = folds[1] if latency is None else latency.affordable(folds[1], per_draw)
            if bag:
                note = (f"the best model is its {len(bag)} validation-fold models averaged (bagged: the folds "
                        f"are repeated on a small table, and {spec.name}'s average varies less than one refit)")
                if len(bag) < len(folds[1]):  # on a slower machine all of them would be too slow for one row
                    note += (f"; the first {len(bag)} of its {len(folds[1])}, as all of them would predict one "
                             f"row slower than the {1000 * latency.limit:.0f} ms limit")
                log.info("Final refit skipped: %s.", note)
                return FinalModel(FoldAverage(bag, data.n_classes), spec.name, number, score, dict(params)), note
            log.info("Trial %s's first %d fold models averaged would predict one row slower than the %.0f ms limit: "
                     "refit on all rows instead.", number, per_draw, 1000 * latency.limit)
        price = budget.best_refit
        limit = None
        if i == 0 and price is not None and objective.cuttable(spec) and (budget.best_cut or budget.cuts(price)):
            limit = _cut_limit(left, price, spec, params, objective)
        elif folds is not None and number == folds[0] and price is not None and price > left:
            note = (f"the best model is its {len(folds[1])} validation-fold model(s) averaged: refitting it on "
                    f"all rows (about {price:.1f} s) would overrun the budget ({max(left, 0):.1f} s left)")
            log.info("Final refit skipped: %s.", note)
            return FinalModel(FoldAverage(folds[1], data.n_classes), spec.name, number, score, dict(params)), note
        try:
            pipe = fit_pipeline(data, spec, params, seed, n_jobs, time_limit=limit)
        except Exception as exc:
            log.warning("Refit of trial %s (%s) failed: %s; trying the next best.", number, spec.name, exc)
            continue
        note = ""
        if limit is not None and price > left:
            note = (f"the best model was refit on all rows within the {left:.1f} s left (its {_units(spec, params):g} "
                    f"{spec.fidelity.kind} priced {price:.1f} s), keeping its best epoch of those it trained")
            pipe, more = _with_holdout_model(pipe, folds if folds is not None and folds[0] == number else None,
                                             data, latency)
            note += more
            log.info("Final refit cut: %s.", note)
        return FinalModel(pipe, spec.name, number, score, dict(params)), note
    raise SearchError("Every candidate failed to refit on all rows; the leaderboard() shows what each trial did.")


def _with_holdout_model(pipe, folds: tuple[int, list] | None, data: SearchData, latency: Latency | None):
    """A refit cut to the time left (``pipe``) averaged with its trial's model of the
    holdout's training rows (``folds``), unless that predicts one row over ``latency``'s limit,
    and what the note adds. Which of the two is better is not measured (the refit has no
    held-out rows); for a convex loss (squared error, log loss) their average scores at least
    the mean of the two scores, and it was better than either on each of 3 tables (the MLP alone at 60 s, seed
    0, R² or AUC of the refit / the holdout's model / the average): california_housing 0.825
    / 0.820 / 0.830, bike_sharing 0.959 / 0.960 / 0.962, adult 0.918 / 0.919 / 0.920."""
    if not folds:
        return pipe, ""
    both = [pipe, *folds[1]] if latency is None else latency.affordable([pipe, *folds[1]], 1)
    if len(both) < 2:
        return pipe, ""
    rows = len(data.splits[0][0])
    return (FoldAverage(both, data.n_classes, refits=1),
            f", averaged with its model of the holdout's {rows} training rows")


def _cut_limit(left: float, price: float, spec: ModelSpec, params: dict, objective: Objective) -> float:
    """The time limit of a refit cut to ``left`` seconds: less its preprocessing and one unit
    of its resource (an epoch), as it stops at the first unit that ends past its limit."""
    return max(0.0, left - objective.refit_estimate(0.0, spec) - price / max(_units(spec, params), 1.0))


def _units(spec: ModelSpec, params: dict) -> float:
    """The units of its resource (epochs) a refit with ``params`` trains at most."""
    return float(params.get(spec.fidelity.param) or spec.fidelity.high)


def build_final_ensemble(final: FinalModel, data: SearchData, specs: dict, records: dict, objective: Objective,
                         budget: Budget, seed: int, n_jobs: int, refits: dict, latency: Latency) -> Ensemble:
    """An ensemble of the best trials when it beats the best one out of fold (see
    ``ensemble.py``), else the single best pipeline. Never fails the fit. The candidates'
    OOF predictions come from the search's result store (this process's memory, or the
    artifact store of a shared study); ``final.oof`` keeps those read. ``refits`` (trial →
    pipeline) gets every member refit on all rows; ``latency`` trims the ensemble when it
    has a limit."""

    def oof_of(record: TrialRecord):
        if record.number not in final.oof:
            oof = objective.results.get(record)
            if oof is None:
                return None
            final.oof[record.number] = oof
        return final.oof[record.number]

    best = records.get(final.trial)
    if best is None or not objective.results.has(best) or oof_of(best) is None:
        why = "no trial finished" if final.trial is None else "the best trial has no out-of-fold predictions"
        return single(final.trial, final.model, final.pipeline, final.score, why)
    candidates = pick_candidates(records.values(), objective.results.has, oof_of, data.val_rows, final.trial,
                                 objective.refit_estimate, max_candidates(budget.total))
    for c in candidates[1:]:
        c.folds = objective.kept.of(c.trial)  # a member whose refit does not fit: its fold models averaged
        c.bagged = objective.bags(specs[c.model])  # a network on repeated folds, where kept

    def refit(number: int):
        refits[number] = fit_pipeline(data, specs[records[number].model], records[number].params, seed, n_jobs)
        return refits[number]

    try:
        return build_ensemble(candidates, final.pipeline, data.y[data.val_rows], data.metric, data.task,
                              data.n_classes, seed, budget, refit, None if latency.limit is None else latency)
    except Exception as exc:
        log.warning("The ensemble could not be built (%s: %s); using the best model.", type(exc).__name__, exc)
        return single(final.trial, final.model, final.pipeline, final.score,
                      f"the ensemble could not be built ({type(exc).__name__}: {exc})")
