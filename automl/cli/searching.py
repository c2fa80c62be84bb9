"""The commands that search: ``fit`` (search, then the final model, saved) and ``worker``
(trials into a shared study)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import warnings
from pathlib import Path

from automl.cli.output import column_error, emit
from automl.cli.parser import UsageError
from automl.data import tables as tableio
from automl.data.inputs import closest_names
from automl.exceptions import AutoMLError
from automl.report import run_report

log = logging.getLogger("automl.cli")

MODEL_SUFFIX = ".automl"


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
        raise column_error("target", args.target, frame.columns, source)
    for name in args.ignore:
        if name not in frame.columns:
            raise column_error("--ignore column", name, frame.columns, source)
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
        cv_repeats=args.cv_repeats,
        storage=args.storage,
        study_name=args.study_name,
        artifacts=args.artifacts,
        seed=args.seed,
        n_jobs=args.jobs,
        verbose=0 if args.quiet else (2 if args.verbose else 1),
        keep_training_sample=getattr(args, "keep_training_sample", False),  # fit only
        **({"infer_limit": args.infer_limit} if hasattr(args, "infer_limit") else {}),  # fit only
        isolation=args.isolation,
        memory_limit=args.memory_limit,
        trial_time_limit=args.trial_time_limit,
    )


@contextlib.contextmanager
def _interrupts():
    """Ctrl-C stops the search and the final model is built from the trials finished so far
    (``run_search``); a second Ctrl-C, or SIGTERM, stops at once. That is the signal's
    default action, taken by the kernel: no Python code runs, so no traceback is printed
    and no native fit can delay it (the shell reports status 130 or 143). Nothing finished
    is lost with a storage: each finished trial is committed when it ends (a trial left
    running is failed and run again by the next search of the study, see ``store.py``);
    the trials' worker process dies with this one (``isolation_child.py``)."""
    def first(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        raise KeyboardInterrupt

    try:
        old = {signal.SIGINT: signal.signal(signal.SIGINT, first), signal.SIGTERM: signal.signal(signal.SIGTERM, signal.SIG_DFL)}
    except ValueError:  # not the main thread: leave the signals alone
        old = {}
    try:
        yield
    finally:
        for number, handler in old.items():
            signal.signal(number, handler)


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
    with _quiet(args), _interrupts():
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
        emit(run_report.dumps(report))
    else:
        emit(run_report.format_summary(report, top=args.top))
        emit(f"Model: {out}\nRun report: {report_path}")
    return 0


def worker(args: argparse.Namespace) -> int:
    """Run trials into the shared study; print what this worker ran."""
    frame, _ = _training_frame(args)
    aml = _automl(args)
    with _quiet(args), _interrupts():
        aml.search(frame, args.target)
    board = aml.leaderboard_
    mine = board[board["worker"] == f"{socket.gethostname()}:{os.getpid()}"]
    best = mine["score"].max()
    emit(f"Worker {socket.gethostname()}:{os.getpid()} ran {len(mine)} trial(s) of study {args.study_name!r} "
          f"({int(mine['score'].notna().sum())} completed; best {aml.metric_} "
          f"{'-' if best != best else f'{best:.5g}'}); the study has {len(board)} trial(s).")
    return 0
