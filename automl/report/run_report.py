"""The run report: everything worth knowing about a fitted AutoML, as plain JSON data.

``build_report(aml)`` gives a dict (JSON-safe: no NaN, no numpy types) with the task and
why, the column roles and what was dropped, the trials and the pruning, the final model
(the ensemble and its weights when the core built one), the feature importances when the
core can compute them, the out-of-fold validation summary and the timings.
``format_summary(report)`` renders the human summary that ``automl fit`` prints.
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
from typing import Any

import pandas as pd

from automl._json import jsonable
from automl.inspection.out_of_fold import summarize_validation
from automl.trial import FAILED, STOPPED


log = logging.getLogger(__name__)

SCHEMA = 1
SINGLE_MODEL_NOTE = "no ensemble: the final model is the single best pipeline, refit on all rows"
#: How a single best pipeline became the final model (``FoldAverage``: no time to refit it, or bagged).
REFIT, FOLDS = "refit on all rows", "its validation-fold models averaged"
REFIT_AND_FOLDS = "refit on all rows, averaged with its validation-fold model(s)"


def dumps(report: dict, indent: int | None = 2) -> str:
    return json.dumps(jsonable(report), indent=indent, allow_nan=False, ensure_ascii=False)


# ------------------------------------------------- importances and the final model --
def feature_importances(aml, strict: bool = False) -> tuple[pd.DataFrame | None, str]:
    """``aml.feature_importances()`` (most important first) and a note.

    A failure returns ``(None, why)`` so that a report still comes out; with ``strict``
    it propagates instead (``automl explain`` shows it).
    """
    try:
        return aml.feature_importances(), ""
    except Exception as exc:
        if strict:
            raise
        log.warning("Feature importances could not be computed: %s", exc)
        return None, f"feature importances could not be computed: {exc}"


def explanation(aml) -> str | None:
    """The core's plain-language summary (``aml.explain()``), or None when it fails."""
    try:
        return aml.explain()
    except Exception as exc:  # explanations are a bonus in reports; ``automl explain`` is strict
        log.debug("explain() failed: %r", exc)
        return None


def importance_records(frame: pd.DataFrame | None) -> list[dict] | None:
    return None if frame is None else jsonable(frame.reset_index())


def ensemble_summary(aml) -> dict:
    """``{"kind": "ensemble" | "single", "members": [{"trial", "model", "weight"}], "note",
    "notes"}`` from ``aml.ensemble_`` (``notes``: why this final model, e.g. the ensemble's gain
    and its noise); a single model also has ``"how"``: refit, or fold models averaged."""
    from automl.final.fold_models import FoldAverage

    ens = aml.ensemble_
    members = [jsonable(dict(m)) for m in ens.members]
    cal = getattr(ens, "calibrator", None)
    calibration = {"calibration": None if cal is None else {"method": cal.method, "params": jsonable(cal.params)},
                   "probability_floor": float(getattr(ens, "floor", 0.0))}
    if ens.method == "single":  # the notes say why (e.g. no ensemble gain beyond noise)
        best = getattr(aml, "best_model_", None)
        how = REFIT if not isinstance(best, FoldAverage) else REFIT_AND_FOLDS if getattr(best, "refits", 0) else FOLDS
        note = SINGLE_MODEL_NOTE.replace(REFIT, how)
        return {"kind": "single", "members": members, "how": how, "note": "; ".join([note, *ens.notes]),
                "notes": list(ens.notes)} | calibration
    return {"kind": "ensemble", "members": members, "note": f"{ens.method}: " + "; ".join(ens.notes),
            "notes": list(ens.notes)} | calibration


# ------------------------------------------------------------------ the report --
def trials_summary(board: pd.DataFrame) -> dict:
    status = board["status"].fillna("?")
    by_model = {}
    for model, rows in board.groupby("model", dropna=False, sort=False):
        scores = rows["score"].dropna()
        by_model[str(model)] = {"trials": len(rows), "best_score": scores.max() if len(scores) else None}
    pruned = board["pruned"].fillna(False).astype(bool) if "pruned" in board else status.eq(STOPPED)
    return {
        "total": len(board),
        "completed": int(board["score"].notna().sum()),
        "pruned": int(pruned.sum()),
        "failed": int(status.eq(FAILED).sum()),
        "by_model": by_model,
        # which process (host:pid) ran how many trials: several for a resumed or shared search
        "by_worker": {str(k): int(v) for k, v in board["worker"].value_counts().items()} if "worker" in board else {},
    }


def trial_records(board: pd.DataFrame) -> list[dict]:
    records = []
    for row in board.to_dict(orient="records"):
        params = row.get("params")
        if isinstance(params, str):
            try:
                row["params"] = json.loads(params)
            except ValueError:
                pass
        records.append(row)
    return jsonable(records)


def training_rows_kept(aml) -> dict:
    """How many training rows the model keeps (``keep_training_sample``), in a sentence too."""
    sample = getattr(aml, "train_sample_", None)
    rows = 0 if sample is None else len(sample)
    note = (f"the model keeps {rows} training rows and the out-of-fold predictions with their targets "
            "(keep_training_sample=True); its model file holds them" if rows else
            "the model keeps no training rows: its model file holds none (keep_training_sample=False)")
    return {"rows": rows, "note": note}


def validation_summary(aml) -> dict | None:
    """Out-of-fold metrics of the best trial on its validation rows (kept at fit, and in the
    model file, as ``validation_summary_``)."""
    summary = getattr(aml, "validation_summary_", None)
    if summary is None:
        summary = summarize_validation(getattr(aml, "validation_predictions_", None), aml.task_)
    return summary


def build_report(
    aml,
    *,
    versions: dict | None = None,
    input_path: str | None = None,
    model_path: str | None = None,
    importances: pd.DataFrame | None = None,
    importances_note: str | None = None,
) -> dict:
    """The run report of a fitted AutoML (see the module docstring). ``importances`` may be
    passed when already computed; otherwise they are computed here when the core can."""
    from automl import __version__

    if importances is None and importances_note is None:
        importances, importances_note = feature_importances(aml)
    board = aml.leaderboard()
    profile = aml.profile_
    columns = [
        {
            "name": c.name, "role": c.role.value, "dtype": c.dtype, "n_unique": c.n_unique,
            "n_missing": c.n_missing, "reason": c.reason, "used": not c.role.dropped,
        }
        for c in profile.columns
    ]
    rungs = pd.to_numeric(board.get("rung"), errors="coerce") if "rung" in board else pd.Series(dtype=float)
    report = {
        "schema": SCHEMA,
        "automl_version": __version__,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions or {},
        "input": input_path,
        "model_path": model_path,
        "target": aml.target_,
        "task": {"task": aml.task_.value, "reason": aml.task_reason_, "set_by_user": aml.task not in (None, "auto")},
        "classes": list(aml.classes_) if aml.task_.is_classification else None,
        "metric": {"name": aml.metric_, "greater_is_better": True, "cv": aml.cv},
        "rows": profile.n_rows,
        "columns": columns,
        "dropped": profile.dropped,
        "features": list(aml.feature_columns_),
        "skipped_models": dict(sorted(getattr(aml, "skipped_models_", {}).items())),
        "best": {
            "model": aml.best_model_name_, "trial": aml.best_trial_, "score": aml.best_score_,
            "params": aml.best_params_,
        },
        "trials": trials_summary(board),
        "pruning": {
            "halving": getattr(aml, "halving", None),
            "eta": getattr(aml, "halving_eta", None),
            "rungs": int(rungs.max()) + 1 if rungs.notna().any() else None,
            "pruned": int(board["pruned"].fillna(False).astype(bool).sum()) if "pruned" in board else None,
        },
        "ensemble": ensemble_summary(aml),
        "importances": importance_records(importances),
        "importances_note": importances_note or "",
        "explanation": explanation(aml) if importances is not None else None,
        "validation": validation_summary(aml),
        "training_rows_kept": training_rows_kept(aml),
        "timings": dict(getattr(aml, "timings_", {})),
        "settings": {
            k: getattr(aml, k, None)
            for k in ("time_budget", "n_trials", "metric", "task", "models", "exclude_models", "cv", "cv_repeats", "seed",
                      "n_jobs")
        },
        "leaderboard": trial_records(board),
    }
    return jsonable(report)


# -------------------------------------------------------------- text summary --
def _fmt(value: Any, digits: int = 5) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def leaderboard_table(report: dict, top: int = 10) -> str:
    rows = report["leaderboard"][:top]
    if not rows:
        return "  (no trial ran)"
    frame = pd.DataFrame(rows)
    keep = [c for c in ("trial", "model", "score", "log_loss", "status", "rung", "resource", "fit_time")
            if c in frame.columns and (c != "log_loss" or frame[c].notna().any())]
    frame = frame[keep]
    frame.insert(0, "rank", range(1, len(frame) + 1))
    for col in ("score", "log_loss", "fit_time"):
        if col in frame:
            frame[col] = [_fmt(v, 3 if col == "fit_time" else 5) for v in frame[col]]
    if "rung" in frame:
        frame["rung"] = [str(int(v)) if isinstance(v, (int, float)) and math.isfinite(v) else "-" for v in frame["rung"]]
    frame = frame.fillna("-")
    return "\n".join("  " + line for line in frame.to_string(index=False).splitlines())


def importance_table(records: list[dict], top: int | None = 10) -> str:
    frame = pd.DataFrame(records[:top] if top else records)
    cols = [c for c in ("rank", "feature", "importance", "std", "ci_low", "ci_high") if c in frame.columns]
    frame = frame[cols + [c for c in frame.columns if c not in cols]]
    for col in frame.columns:
        if col not in ("rank", "feature") and pd.api.types.is_numeric_dtype(frame[col]):
            frame[col] = [_fmt(v, 4) for v in frame[col]]
    return "\n".join("  " + line for line in frame.to_string(index=False).splitlines())


def format_summary(report: dict, top: int = 10) -> str:
    """The human-readable summary of a run (what ``automl fit`` prints on stdout)."""
    task = report["task"]
    trials = report["trials"]
    best = report["best"]
    lines = [
        f"Task: {task['task']} ({task['reason']}); target {report['target']!r}"
        + (f", classes {', '.join(map(str, report['classes'][:10]))}" if report.get("classes") else ""),
        f"Data: {report['rows']} rows, {len(report['features'])} columns, "
        f"{sum(c['used'] for c in report['columns'])} used",
    ]
    for name, why in report["dropped"].items():
        lines.append(f"  dropped {name!r}: {why}")
    lines.append(
        f"Search: {trials['total']} trials ({trials['completed']} completed, {trials['pruned']} stopped early, "
        f"{trials['failed']} failed) in {_fmt(report['timings'].get('search'), 3)} s; metric {report['metric']['name']}"
        " (greater is better)"
    )
    lines.append(f"Leaderboard (top {min(top, trials['total'])}):")
    lines.append(leaderboard_table(report, top))
    ens = report["ensemble"]
    if ens["kind"] == "ensemble":
        lines.append(f"Final model: ensemble of {len(ens['members'])} pipelines")
        for m in ens["members"]:
            extra = f" (trial {m['trial']})" if m.get("trial") is not None else ""
            lines.append(f"  {_fmt(m.get('weight'), 3):>6}  {m.get('model')}{extra}")
        if ens.get("note"):
            lines.append(f"  {ens['note']}")
    else:
        score = _fmt(best["score"])
        lines.append(
            f"Final model: the single best pipeline, {best['model']} (trial {_fmt(best['trial'])}, "
            f"CV {report['metric']['name']} {score}), {ens.get('how', REFIT)}; no ensemble"
        )
        why = "; ".join(ens.get("note", "").split("; ")[1:])  # after the single-model sentence
        if why:
            lines.append(f"  {why}")
    if report.get("importances"):
        lines.append(f"Top features (of {len(report['importances'])}):")
        lines.append(importance_table(report["importances"], top))
    else:
        lines.append(f"Feature importances: {report.get('importances_note')}")
    val = report.get("validation")
    if val:
        if "accuracy" in val:
            lines.append(f"Out-of-fold accuracy of the best trial: {val['accuracy']:.4f} on {val['rows']} rows")
        else:
            lines.append(
                f"Out-of-fold RMSE {val['rmse']:.5g}, MAE {val['mae']:.5g}, R2 {_fmt(val['r2'], 4)} on {val['rows']} rows"
            )
    kept = report.get("training_rows_kept")
    if kept:
        lines.append(f"Training data: {kept['note']}")
    t = report["timings"]
    lines.append(
        "Time: " + ", ".join(f"{k} {_fmt(t[k], 3)} s" for k in ("profile", "search", "refit", "total") if k in t)
    )
    return "\n".join(lines)
