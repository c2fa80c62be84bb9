"""The handlers of the ``automl`` subcommands: fit, worker, predict, explain, report, info, plugins.

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
import os
import socket
import sys
import warnings
from pathlib import Path

import pandas as pd

from automl.cli.parser import UsageError
from automl.data import tables as tableio
from automl._json import jsonable
from automl.data.inputs import closest_names
from automl.exceptions import AutoMLError
from automl.report import run_report

log = logging.getLogger("automl.cli")

MODEL_SUFFIX = ".automl"


def _emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def _note(text: str) -> None:
    """A status line on stderr (not a result)."""
    sys.stderr.write(f"[automl] {text}\n")


def _column_error(what: str, name: str, columns, source: str) -> UsageError:
    columns = [str(c) for c in columns]
    close = closest_names(name, columns)
    if close:
        hint = f"; did you mean {' or '.join(map(repr, close))}?"
    else:
        shown = ", ".join(map(repr, columns[:15])) + (", ..." if len(columns) > 15 else "")
        hint = f"; its columns are {shown}"
    return UsageError(f"{what} {name!r} is not a column of {source}{hint}")


def load_model(path: str, trusted=()):
    """The AutoML object and the library versions saved with it (``trusted``: type names the
    user allows beyond the installed plugins' declarations; see ``AutoML.load``)."""
    from automl.estimator import AutoML

    aml = AutoML.load(path, trusted=trusted)
    return aml, dict(getattr(aml, "versions_", None) or {})


# ---------------------------------------------------------------------- fit --
def _check_names(models, exclude, metric) -> None:
    """Fail fast (before reading the data and searching) on unknown model or metric names."""
    from automl.metrics import check_metric_name
    from automl.registry import discover

    registry = discover() if metric is not None or models or exclude else None
    if metric is not None:
        try:
            check_metric_name(metric, registry.metrics)
        except AutoMLError as exc:
            raise UsageError(f"argument --metric: {exc}") from None
    if models or exclude:
        known = sorted(set(registry.specs) | set(registry.skipped))
        for option, names in (("--models", models or []), ("--exclude-models", exclude or [])):
            for name in names:
                if name not in known:
                    close = closest_names(name, known)
                    hint = f"did you mean {' or '.join(map(repr, close))}? " if close else ""
                    raise UsageError(
                        f"argument {option}: unknown model {name!r}; {hint}known: {', '.join(known)} (see 'automl plugins')"
                    )


def _output_paths(args) -> tuple[Path, Path]:
    out = Path(args.out) if args.out else Path.cwd() / f"{tableio.base_stem(args.data)}{MODEL_SUFFIX}"
    report = Path(args.report) if args.report else out.with_name(out.name + ".json")
    for path, option in ((out, "--out"), (report, "--report")):
        parent = path.parent if str(path.parent) else Path(".")
        if path.is_dir():
            raise UsageError(f"argument {option}: {str(path)!r} is a directory; give a file name")
        if not parent.is_dir():
            raise UsageError(f"argument {option}: directory {str(parent)!r} does not exist")
        if not os.access(parent, os.W_OK):
            raise UsageError(f"argument {option}: cannot write in directory {str(parent)!r}")
    return out, report


def _training_frame(args: argparse.Namespace):
    """DATA as read, without the --ignore columns; the target checked."""
    _check_names(args.models, args.exclude_models, args.metric)
    source = tableio.display_name(args.data)
    frame = tableio.read_table(args.data)
    frame.columns = [str(c) for c in frame.columns]
    if args.target not in frame.columns:
        raise _column_error("target", args.target, frame.columns, source)
    for name in args.ignore:
        if name not in frame.columns:
            raise _column_error("--ignore column", name, frame.columns, source)
        if name == args.target:
            raise UsageError(f"argument --ignore: {name!r} is the target")
    if args.ignore:
        frame = frame.drop(columns=args.ignore)
    log.info("Read %s: %d rows, %d columns.", source, len(frame), frame.shape[1])
    return frame, source


def _automl(args: argparse.Namespace):
    from automl.estimator import AutoML

    return AutoML(
        time_budget=args.time,
        n_trials=args.trials,
        metric=args.metric,
        task=None if args.task == "auto" else args.task,
        models=args.models,
        exclude_models=args.exclude_models,
        cv=args.cv,
        storage=args.storage,
        study_name=args.study_name,
        artifacts=args.artifacts,
        seed=args.seed,
        n_jobs=args.jobs,
        verbose=0 if args.quiet else (2 if args.verbose else 1),
        keep_training_sample=getattr(args, "keep_training_sample", False),  # fit only
    )


@contextlib.contextmanager
def _quiet(args: argparse.Namespace):
    """With --quiet, no warnings either."""
    with warnings.catch_warnings():
        if args.quiet:
            warnings.simplefilter("ignore")
        yield


def fit(args: argparse.Namespace) -> int:
    from automl.model_file.archive import library_versions

    out, report_path = _output_paths(args)
    frame, source = _training_frame(args)
    aml = _automl(args)
    with _quiet(args):
        aml.fit(frame, args.target)
        # Importances and the explanation first (out of fold, while the fold models are in
        # memory): the model file keeps them, and no training rows.
        importances, note = run_report.feature_importances(aml)
        report = run_report.build_report(
            aml,
            versions=library_versions(),
            input_path=source if args.data == tableio.STDIN else str(Path(args.data).resolve()),
            model_path=str(out.resolve()),
            importances=importances,
            importances_note=note,
        )
        aml.save(out)
    report_path.write_text(run_report.dumps(report) + "\n", encoding="utf-8")
    log.info("Model written to %s; run report to %s.", out, report_path)
    if args.json:
        _emit(run_report.dumps(report))
    else:
        _emit(run_report.format_summary(report, top=args.top))
        _emit(f"Model: {out}\nRun report: {report_path}")
    return 0


def worker(args: argparse.Namespace) -> int:
    """Run trials into the shared study; print what this worker ran."""
    frame, _ = _training_frame(args)
    aml = _automl(args)
    with _quiet(args):
        aml.search(frame, args.target)
    board = aml.leaderboard_
    mine = board[board["worker"] == f"{socket.gethostname()}:{os.getpid()}"]
    best = mine["score"].max()
    _emit(f"Worker {socket.gethostname()}:{os.getpid()} ran {len(mine)} trial(s) of study {args.study_name!r} "
          f"({int(mine['score'].notna().sum())} completed; best {aml.metric_} "
          f"{'-' if best != best else f'{best:.5g}'}); the study has {len(board)} trial(s).")
    return 0


# ------------------------------------------------------------------ predict --
def predict(args: argparse.Namespace) -> int:
    aml, _ = load_model(args.model, args.trust)
    source = tableio.display_name(args.data)
    frame = tableio.read_table(args.data)
    frame.columns = [str(c) for c in frame.columns]
    if args.id is not None and args.id not in frame.columns:
        raise _column_error("--id", args.id, frame.columns, source)
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
        _note(f"Wrote {len(out)} predictions to {args.out}.")
    return 0


# ------------------------------------------------------------------ explain --
def explain(args: argparse.Namespace) -> int:
    aml, _ = load_model(args.model, args.trust)
    if args.data is not None:
        data = tableio.read_table(args.data)
        data.columns = [str(c) for c in data.columns]
        if str(aml.target_) not in data.columns:
            raise _column_error("the target", str(aml.target_), data.columns, tableio.display_name(args.data))
        frame = aml.feature_importances(data, str(aml.target_))
        text = aml.explain(data, str(aml.target_))
    else:
        frame, _ = run_report.feature_importances(aml, strict=True)
        text = run_report.explanation(aml)
    records = run_report.importance_records(frame)
    if args.top:
        records = records[: args.top]
    if args.json:
        _emit(run_report.dumps({"importances": records, "explanation": text}))
        return 0
    _emit(f"Feature importances ({len(frame)} columns, most important first):")
    _emit(run_report.importance_table(records, top=None))
    if text:
        _emit("")
        _emit(text)
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
        _note(f"HTML report written to {path}.")
        if args.json:
            _emit(run_report.dumps(rep))
        return 0
    _emit(run_report.dumps(rep) if args.json else run_report.format_summary(rep, top=args.top))
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
        _emit(run_report.dumps(d))
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
    _emit("\n".join(lines))
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
        _emit(run_report.dumps({"hook_api_version": HOOK_API_VERSION, "plugins": data}))
        return status
    for info_ in infos:
        origin = f"{info_.distribution} {info_.version}".strip()
        state = " [disabled]" if info_.disabled else (f" [error: {info_.error}]" if info_.error else "")
        hooks = f" hooks: {', '.join(info_.hooks)}" if info_.hooks and not info_.error else ""
        _emit(f"{info_.name} ({origin}){state}{hooks}")
        for name in info_.models:
            spec = registry.specs.get(name)
            if spec is None:
                _emit(f"  {name}: skipped: {registry.skipped.get(name, '?')}")
                continue
            flags = [f for f in ("needs_scaling", "handles_missing", "handles_categorical", "gpu") if getattr(spec, f)]
            fid = spec.fidelity
            fidelity = f"{fid.kind} {fid.low:g}..{fid.high:g}" if fid else "none"
            tasks = ",".join(sorted(t.value for t in spec.tasks))
            check = ""
            if args.check:
                failed = failures.get(name)
                check = " check: ok" if not failed else " check FAILED: " + "; ".join(f"{t}: {e}" for t, e in
                                                                                      failed.items())
            _emit(f"  {name}: tasks={tasks} fidelity={fidelity} flags={','.join(flags) or '-'}{check}")
        for name in info_.metrics:
            metric = registry.metrics[name]
            tasks = ",".join(sorted(t.value for t in metric.tasks))
            kind = ("greater is better" if metric.greater_is_better else "lower is better") + (
                ", from probabilities" if metric.needs_proba else "")
            _emit(f"  metric {name}: tasks={tasks} ({kind})")
    _emit(f"hook API version {HOOK_API_VERSION}")
    return status
