"""The handlers of the ``automl`` subcommands: predict, explain, report, info, plugins; fit
and worker are in :mod:`automl.cli.searching`, imported here so that every handler is here.

Each takes the parsed ``argparse.Namespace`` and returns an exit status; problems are
raised (:class:`automl.cli.parser.UsageError` for exit status 2, :class:`AutoMLError` or
``OSError`` for 1) and turned into one line on stderr by :func:`automl.cli.main.main`.
Results go to stdout; logs to stderr through the ``automl`` logger.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
from pathlib import Path

import pandas as pd

from automl._json import jsonable
from automl.cli.output import column_error, emit, note
from automl.cli.parser import UsageError
from automl.cli.searching import fit, worker  # noqa: F401 - handlers, dispatched by name
from automl.data import tables as tableio
from automl.report import run_report

log = logging.getLogger("automl.cli")


def load_model(path: str, trusted=()):
    """The AutoML object and the library versions saved with it (``trusted``: type names the
    user allows beyond the installed plugins' declarations; see ``AutoML.load``)."""
    from automl.estimator import AutoML

    aml = AutoML.load(path, trusted=trusted)
    return aml, dict(getattr(aml, "versions_", None) or {})


# ---------------------------------------------------------------------- fit --
# ------------------------------------------------------------------ predict --
def predict(args: argparse.Namespace) -> int:
    aml, _ = load_model(args.model, args.trust)
    source = tableio.display_name(args.data)
    frame = tableio.read_table(args.data)
    frame.columns = [str(c) for c in frame.columns]
    if args.id is not None and args.id not in frame.columns:
        raise column_error("--id", args.id, frame.columns, source)
    if args.proba:
        if not aml.task_.is_classification:
            raise UsageError(f"argument --proba: the model does {aml.task_.value}, not classification; drop --proba")
        out = aml.predict_proba(frame, as_frame=True).reset_index(drop=True)
        out.columns = [str(c) for c in out.columns]
    else:
        out = pd.DataFrame({str(aml.target_): aml.predict(frame)})
    if args.id is not None:
        name = args.id if args.id not in out.columns else f"{args.id}_id"
        out.insert(0, name, frame[args.id].to_numpy())
    tableio.write_table(out, args.out)
    if args.out:
        note(f"Wrote {len(out)} predictions to {args.out}.")
    return 0


# ------------------------------------------------------------------ explain --
def explain(args: argparse.Namespace) -> int:
    aml, _ = load_model(args.model, args.trust)
    if args.data is not None:
        data = tableio.read_table(args.data)
        data.columns = [str(c) for c in data.columns]
        if str(aml.target_) not in data.columns:
            raise column_error("the target", str(aml.target_), data.columns, tableio.display_name(args.data))
        frame = aml.feature_importances(data, str(aml.target_))
        text = aml.explain(data, str(aml.target_))
    else:
        frame, _ = run_report.feature_importances(aml, strict=True)
        text = run_report.explanation(aml)
    records = run_report.importance_records(frame)
    if args.top:
        records = records[: args.top]
    if args.json:
        emit(run_report.dumps({"importances": records, "explanation": text}))
        return 0
    emit(f"Feature importances ({len(frame)} columns, most important first):")
    emit(run_report.importance_table(records, top=None))
    if text:
        emit("")
        emit(text)
    return 0


# ------------------------------------------------------------------- report --
def report(args: argparse.Namespace) -> int:
    aml, versions = load_model(args.model, args.trust)
    if args.html:
        from automl.report import html_report

        html_report.require_matplotlib()  # before the work, not after
    rep = run_report.build_report(
        aml, versions=versions, input_path=_fit_input(args.model), model_path=str(Path(args.model).resolve())
    )
    if args.html:
        path = html_report.write_html(rep, Path(args.html), validation=getattr(aml, "validation_predictions_", None))
        note(f"HTML report written to {path}.")
        if args.json:
            emit(run_report.dumps(rep))
        return 0
    emit(run_report.dumps(rep) if args.json else run_report.format_summary(rep, top=args.top))
    return 0


def _fit_input(model_path: str) -> str | None:
    """The input file named in the run report that ``automl fit`` wrote beside the model."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        return json.loads(Path(model_path + ".json").read_text(encoding="utf-8")).get("input")
    return None


# --------------------------------------------------------------------- info --
def info_dict(aml, versions: dict, path: str) -> dict:
    profile = aml.profile_
    return jsonable(
        {
            "file": str(path),
            "size_bytes": Path(path).stat().st_size,
            "kind": "automl model",
            "versions": versions,
            "task": aml.task_.value,
            "task_reason": aml.task_reason_,
            "target": aml.target_,
            "classes": list(aml.classes_) if aml.task_.is_classification else None,
            "metric": aml.metric_,
            "best_model": aml.best_model_name_,
            "best_trial": aml.best_trial_,
            "best_score": aml.best_score_,
            "best_params": aml.best_params_,
            "final_model": run_report.ensemble_summary(aml),
            "columns": list(aml.feature_columns_),
            "roles": {c.name: c.role.value for c in profile.columns},
            "dropped": profile.dropped,
            "training_rows": profile.n_rows,
            "training_rows_kept": 0 if getattr(aml, "train_sample_", None) is None else len(aml.train_sample_),
            "trials": len(aml.leaderboard_) if hasattr(aml, "leaderboard_") else None,
            "timings": dict(getattr(aml, "timings_", {})),
        }
    )


def info(args: argparse.Namespace) -> int:
    aml, versions = load_model(args.model, args.trust)
    d = info_dict(aml, versions, args.model)
    if args.json:
        emit(run_report.dumps(d))
        return 0
    libs = ", ".join(f"{k} {v}" for k, v in versions.items())
    final = d["final_model"]
    lines = [
        f"{d['file']}: automl model ({d['size_bytes'] / 1024:.0f} KiB)",
        f"Made with: {libs or 'unknown versions'}",
        f"Task: {d['task']} ({d['task_reason']})",
        f"Target: {d['target']}" + (f"; classes: {', '.join(map(str, d['classes']))}" if d["classes"] else ""),
        f"Best model: {d['best_model']} (trial {d['best_trial']}), CV {d['metric']} = "
        + (f"{d['best_score']:.5g}" if d["best_score"] is not None else "-"),
        f"Parameters: {json.dumps(d['best_params'], sort_keys=True, default=str)}",
        "Final model: "
        + (f"ensemble of {len(final['members'])} pipelines" if final["kind"] == "ensemble" else "the single best pipeline"),
        f"Trained on {d['training_rows']} rows; {d['trials']} trials; fit took {d['timings'].get('total', '-')} s",
        "Training rows kept in the file: " + (f"{d['training_rows_kept']} (keep_training_sample=True)"
                                              if d["training_rows_kept"] else "none"),
        f"Columns expected ({len(d['columns'])}; extra columns are ignored, a missing one is an error):",
    ]
    for name in d["columns"]:
        why = d["dropped"].get(name)
        lines.append(f"  {name}: {d['roles'].get(name, '?')}" + (f" (not used: {why})" if why else ""))
    emit("\n".join(lines))
    return 0


# ------------------------------------------------------------------ plugins --
def _spec_dict(spec) -> dict:
    fid = spec.fidelity
    return {
        "tasks": sorted(t.value for t in spec.tasks),
        "fidelity": None if fid is None else {"kind": fid.kind, "low": fid.low, "high": fid.high, "param": fid.param},
        "gpu": spec.gpu,
        "handles_categorical": spec.handles_categorical,
        "handles_missing": spec.handles_missing,
        "needs_scaling": spec.needs_scaling,
        "target_encoding": spec.target_encoding,
        "bagged": spec.bagged,
        "max_rows": spec.max_rows,
        "requires": list(spec.requires),
        "description": spec.description,
    }


def _metric_dict(metric) -> dict:
    return {
        "tasks": sorted(t.value for t in metric.tasks),
        "greater_is_better": metric.greater_is_better,
        "needs_proba": metric.needs_proba,
        "description": metric.description,
    }


def _check_models(registry) -> dict[str, dict[str, str]]:
    """Model name → {task: error} for every default configuration that fails to fit and
    predict on tiny data (``automl.testing``'s fit-and-predict check); {} when all pass."""
    from automl.testing import Case

    failures: dict[str, dict[str, str]] = {}
    for name, spec in registry.specs.items():
        for task in sorted(spec.tasks, key=lambda t: t.value):
            try:
                Case("fit_predict", spec, task)()
            except Exception as exc:  # noqa: BLE001 - reported, one line per model
                text = str(exc).splitlines()[0] if isinstance(exc, AssertionError) else f"{type(exc).__name__}: {exc}"
                failures.setdefault(name, {})[task.value] = text.removeprefix(f"ModelSpec {name!r}: ")
    return failures


def plugins(args: argparse.Namespace) -> int:
    from automl.hookspecs import HOOK_API_VERSION
    from automl.registry import discover

    registry = discover()
    infos = sorted(registry.plugins, key=lambda p: p.name)
    failures = _check_models(registry) if args.check else {}
    status = 1 if args.check and (failures or any(p.error for p in infos)) else 0
    if args.json:
        data = []
        for info_ in infos:
            models = {}
            for name in info_.models:
                spec = registry.specs.get(name)
                models[name] = {"available": False, "skipped": registry.skipped.get(name, "?")} if spec is None else {
                    "available": True, **_spec_dict(spec)
                }
                if args.check and spec is not None:
                    models[name]["check"] = failures.get(name, {})
            data.append({
                "name": info_.name, "distribution": info_.distribution, "version": info_.version,
                "disabled": info_.disabled, "error": info_.error or None, "hooks": info_.hooks, "models": models,
                "types": info_.types,
                "metrics": {m: _metric_dict(registry.metrics[m]) for m in info_.metrics},
            })
        emit(run_report.dumps({"hook_api_version": HOOK_API_VERSION, "plugins": data}))
        return status
    for info_ in infos:
        origin = f"{info_.distribution} {info_.version}".strip()
        state = " [disabled]" if info_.disabled else (f" [error: {info_.error}]" if info_.error else "")
        hooks = f" hooks: {', '.join(info_.hooks)}" if info_.hooks and not info_.error else ""
        emit(f"{info_.name} ({origin}){state}{hooks}")
        for name in info_.models:
            spec = registry.specs.get(name)
            if spec is None:
                emit(f"  {name}: skipped: {registry.skipped.get(name, '?')}")
                continue
            flags = [f for f in ("needs_scaling", "handles_missing", "handles_categorical", "target_encoding", "bagged",
                                "gpu")
                     if getattr(spec, f)]
            fid = spec.fidelity
            fidelity = f"{fid.kind} {fid.low:g}..{fid.high:g}" if fid else "none"
            tasks = ",".join(sorted(t.value for t in spec.tasks))
            check = ""
            if args.check:
                failed = failures.get(name)
                check = " check: ok" if not failed else " check FAILED: " + "; ".join(f"{t}: {e}" for t, e in
                                                                                      failed.items())
            emit(f"  {name}: tasks={tasks} fidelity={fidelity} flags={','.join(flags) or '-'}{check}")
        for name in info_.metrics:
            metric = registry.metrics[name]
            tasks = ",".join(sorted(t.value for t in metric.tasks))
            kind = ("greater is better" if metric.greater_is_better else "lower is better") + (
                ", from probabilities" if metric.needs_proba else "")
            emit(f"  metric {name}: tasks={tasks} ({kind})")
    emit(f"hook API version {HOOK_API_VERSION}")
    return status
