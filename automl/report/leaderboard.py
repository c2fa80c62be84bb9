"""The leaderboard: one row per trial of the study."""

from __future__ import annotations

import json
import math
from typing import Mapping

import optuna
import pandas as pd

from automl.search.record import TrialRecord

COLUMNS = [
    "trial", "model", "score", "log_loss", "weight", "metric", "status", "rung", "resource", "refit_resource", "pruned", "fit_time",
    "predict_1_ms", "predict_1000_ms", "default", "params", "error", "note", "worker",
]


def trials_frame(
    trials: list[optuna.trial.FrozenTrial], metric: str, weights: Mapping[int, float] | None = None,
    predict_ms: Mapping[int, tuple[float, float]] | None = None,
) -> pd.DataFrame:
    """Rows sorted best first (scores are greater-is-better); failed trials last.

    ``score`` is the full-resource CV score: trials stopped at a lower rung have none
    (``rung`` and ``resource`` say how far they got; ``pruned`` says the pruner or the
    budget stopped them). ``refit_resource`` is what the final model trains with: the
    full resource, or the best rung's for early-stopping models (boosting rounds). A model
    whose fidelity is a parameter (rounds, trees, iterations, epochs) that the budget
    stopped before its last rung is complete at its best (early stopping) or last rung,
    refit there, and ``note`` says so. ``weight`` is the trial's weight in the final model
    (``weights``: trial number → weight; 0 for the others). ``predict_1_ms`` and
    ``predict_1000_ms`` are the milliseconds its pipeline refit on all rows takes to predict
    one row and 1,000 rows (``predict_ms``: trial number → both); NaN for trials not refit.
    ``worker`` is the process (``host:pid``) that ran the trial. ``log_loss`` (classification)
    is the out-of-fold log loss of a complete trial, beside the search metric.
    """
    weights = weights or {}
    predict_ms = predict_ms or {}
    rows = []
    for t in trials:
        if t.state == optuna.trial.TrialState.WAITING:  # queued, never started
            continue
        r = TrialRecord.from_trial(t)
        rows.append(
            {
                "trial": r.number,
                "model": r.model,
                "score": r.score,
                "log_loss": r.log_loss,
                "weight": float(weights.get(r.number, 0.0)),
                "metric": metric,
                "status": r.status,
                "rung": r.rung,
                "resource": r.resource,
                "refit_resource": r.refit_resource if r.score is not None else None,
                "pruned": r.state == optuna.trial.TrialState.PRUNED,
                "fit_time": r.fit_time,
                "predict_1_ms": predict_ms.get(r.number, (math.nan, math.nan))[0],
                "predict_1000_ms": predict_ms.get(r.number, (math.nan, math.nan))[1],
                "default": r.default_config is not None,
                "params": json.dumps(r.params, sort_keys=True, default=str),
                "error": r.error,
                "note": r.note,
                "worker": r.worker,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    for column in ("score", "log_loss"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    return frame.sort_values(["score", "trial"], ascending=[False, True], na_position="last").reset_index(drop=True)
