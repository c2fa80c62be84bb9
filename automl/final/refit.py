"""The final model's steps after the search: the best trial refit on all rows, then the
ensemble of the best trials built around it.

:func:`refit_best` refits the best completed trial (the next one if it fails). When the
refit would overrun the budget (the search ran late, or the refit is costlier than
reserved), the best trial's fold models from the search, averaged, are the final model
instead (``FoldAverage``: no training). When no trial finished (a tiny budget), the
cheapest model's first default configuration is fitted, so that ``fit`` still returns a
model. :func:`final_model` builds the ensemble (``automl.final.ensemble``) and never
fails the fit.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import optuna

from automl.exceptions import SearchError
from automl.final.ensemble import Ensemble, build_ensemble, pick_candidates, single
from automl.final.fold_models import FoldAverage
from automl.final.latency import Latency

log = logging.getLogger(__name__)

#: ``fit(spec, params)``: the spec's pipeline with those parameters, fitted on all rows.
Fit = Callable[[Any, dict], Any]


@dataclass
class Best:
    """The best model: its fitted pipeline (or ``FoldAverage``), model name, trial number,
    CV score and parameters, and a note when it is not a refit on all rows."""

    model: Any
    name: str
    trial: int | None
    score: float
    params: dict
    note: str = ""


def _complete(study, specs: dict) -> list:
    # Only COMPLETE trials carry a full-resource score: Optuna gives a pruned trial the
    # value of its last (lower) rung, which must never compete with full scores.
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    return [t for t in complete if t.params.get("model") in specs]


def refit_best(study, specs: dict, folds: tuple | None, budget, fit: Fit, n_classes: int) -> Best:
    """See the module docstring; ``folds``: the search's ``(trial, fold pipelines)`` of its best trial."""
    done = [t for t in _complete(study, specs) if np.isfinite(t.value)]
    done.sort(key=lambda t: t.value, reverse=True)
    candidates = [(specs[t.params["model"]], t.user_attrs.get("params", {}), t.number, float(t.value)) for t in done]
    if not candidates:
        cheapest = min(specs.values(), key=lambda s: s.cost)
        log.warning("No trial finished within the budget; fitting %s with its default parameters.", cheapest.name)
        candidates = [(cheapest, dict(cheapest.default_params[0]), None, float("nan"))]
    for spec, params, number, score in candidates:
        left = budget.remaining() - budget.margin
        if folds is not None and number == folds[0] and budget.best_refit is not None and budget.best_refit > left:
            note = (f"the best model is its {len(folds[1])} validation-fold model(s) averaged: refitting it on "
                    f"all rows (about {budget.best_refit:.1f} s) would overrun the budget ({max(left, 0):.1f} s left)")
            log.info("Final refit skipped: %s.", note)
            return Best(FoldAverage(folds[1], n_classes), spec.name, number, score, dict(params), note)
        try:
            pipe = fit(spec, params)
        except Exception as exc:
            log.warning("Refit of trial %s (%s) failed: %s; trying the next best.", number, spec.name, exc)
            continue
        return Best(pipe, spec.name, number, score, dict(params))
    raise SearchError("Every candidate failed to refit on all rows; the leaderboard() shows what each trial did.")


def final_model(best: Best, study, specs: dict, objective, budget, fit: Fit, seed: int,
                infer_limit: float | None) -> Ensemble:
    """An ensemble of the best trials when it beats the best one out of fold (see
    ``automl.final.ensemble``), else the single best pipeline; ``best.note`` leads its notes."""
    data = objective.data
    if best.trial not in objective.oof:
        why = "no trial finished" if best.trial is None else "the best trial has no out-of-fold predictions"
        ensemble = single(best.trial, best.name, best.model, best.score, why)
    else:
        trials = {t.number: t for t in _complete(study, specs)}
        candidates = pick_candidates(trials.values(), objective.oof, data.val_rows, best.trial,
                                     objective._refit_estimate)

        def refit(number: int):
            trial = trials[number]
            return fit(specs[trial.params["model"]], trial.user_attrs.get("params", {}))

        try:
            latency = None if infer_limit is None else Latency(data.X.iloc[:1], data.n_classes, infer_limit)
            ensemble = build_ensemble(candidates, best.model, data.y[data.val_rows], data.metric, data.task,
                                      data.n_classes, seed, budget, refit, latency)
        except Exception as exc:
            log.warning("The ensemble could not be built (%s: %s); using the best model.", type(exc).__name__, exc)
            ensemble = single(best.trial, best.name, best.model, best.score,
                              f"the ensemble could not be built ({type(exc).__name__}: {exc})")
    if best.note:
        ensemble.notes.insert(0, best.note)
    return ensemble
