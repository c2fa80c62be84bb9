"""What keeping the search in storage costs: trials finished per minute in memory, with
SQLite + file artifacts, and with workers on PostgreSQL; how long a resume takes before
its first new trial; the coordinator's peak RSS.

    python -m benchmarks.durable --datasets ../shared/datasets --time 60 [--postgres URL]

Without ``--postgres`` a throw-away server is started with ``.ci/postgres``. Run it alone
on the machine: the rates are wall-clock. Writes ``benchmarks/results/durable_search.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

DATASETS = ("credit_g", "phoneme", "adult")
ROOT = Path(__file__).resolve().parents[1]


def _frame(datasets: Path, name: str):
    import pandas as pd

    entry = {d["name"]: d for d in json.loads((datasets / "manifest.json").read_text())}[name]
    return pd.read_csv(datasets / entry["file"]), entry["target"]


def one_fit(datasets: str, name: str, seconds: float, storage: str | None, jobs: int) -> dict:
    """In this process: a fit, its finished trials per minute of search, the resume time."""
    import optuna

    from automl import AutoML

    frame, target = _frame(Path(datasets), name)
    study = f"bench-{uuid.uuid4().hex[:8]}" if storage else None
    aml = AutoML(time_budget=seconds, storage=storage, study_name=study, n_jobs=jobs, verbose=0).fit(frame, target)
    finished = [t for t in aml.study_.get_trials(deepcopy=False)
                if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    out = {"trials": len(finished), "search_s": aml.timings_["search"],
           "per_min": 60 * len(finished) / aml.timings_["search"], "score": aml.best_score_,
           "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    if storage:  # resume: the time from the call to the start of its first new trial
        t0 = time.time()
        again = AutoML(time_budget=seconds / 4, n_trials=1, storage=storage, study_name=study, n_jobs=jobs, verbose=0)
        again.fit(frame, target)
        starts = [t.datetime_start.timestamp() for t in again.study_.trials
                  if t.datetime_start is not None and t.datetime_start.timestamp() >= t0]
        out["resume_s"] = min(starts) - t0 if starts else None
    return out


def workers(datasets: str, name: str, seconds: float, url: str, n: int, jobs: int) -> dict:
    """``n`` ``automl worker`` processes with ``jobs`` threads each on one PostgreSQL study."""
    import optuna

    frame, target = _frame(Path(datasets), name)
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data.csv"
        frame.to_csv(data, index=False)
        study = f"bench-{uuid.uuid4().hex[:8]}"
        args = [sys.executable, "-m", "automl", "worker", str(data), "--target", target, "--storage", url,
                "--study-name", study, "--artifacts", str(Path(tmp) / "artifacts"), "--jobs", str(jobs),
                "--time", str(seconds), "--quiet"]
        t0 = time.monotonic()
        procs = [subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(n)]
        for p in procs:
            p.wait()
        wall = time.monotonic() - t0
        s = optuna.load_study(study_name=study, storage=url)
        finished = [t for t in s.trials if t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)]
    return {"trials": len(finished), "search_s": wall, "per_min": 60 * len(finished) / wall,
            "score": max((t.value for t in finished if t.state.name == "COMPLETE"), default=None)}


def _child(func: str, *args) -> dict:
    """Run ``func(*args)`` in a fresh process (its own peak RSS), return its JSON."""
    code = f"import json, sys; from benchmarks.durable import {func}; print(json.dumps({func}(*json.loads(sys.argv[1]))))"
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--time", type=float, default=60)
    ap.add_argument("--only", nargs="*", default=list(DATASETS))
    ap.add_argument("--postgres", help="a PostgreSQL URL (default: start one with .ci/postgres)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "durable_search.md"))
    args = ap.parse_args(argv)
    env_text = ""
    if not args.postgres:
        env_text = subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "start"], capture_output=True, text=True,
                                  check=True).stdout
        env = dict(line.removeprefix("export ").split("=", 1) for line in env_text.splitlines())
        args.postgres = env["AUTOML_TEST_POSTGRES"]
    rows = []
    try:
        for name in args.only:
            with tempfile.TemporaryDirectory() as tmp:
                sqlite = f"sqlite:///{Path(tmp) / 's.db'}"
                runs = {
                    "in memory, 2 threads": _child("one_fit", args.datasets, name, args.time, None, 2),
                    "SQLite + artifacts, 2 threads": _child("one_fit", args.datasets, name, args.time, sqlite, 2),
                    "PostgreSQL, 1 worker x 2 threads": _child("workers", args.datasets, name, args.time,
                                                               args.postgres, 1, 2),
                    "PostgreSQL, 2 workers x 1 thread": _child("workers", args.datasets, name, args.time,
                                                               args.postgres, 2, 1),
                }
            for mode, r in runs.items():
                rows.append((name, mode, r))
                print(name, mode, r, file=sys.stderr)
    finally:
        if env_text:
            subprocess.run(["bash", str(ROOT / ".ci" / "postgres"), "stop"], env={**os.environ, **env}, check=False)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    lines = [
        "# Durable search: what the storage costs",
        "",
        f"{date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores; commit {commit}; "
        f"`python -m benchmarks.durable --time {args.time:g}`; each fit or worker set runs {args.time:g} s on the "
        "dataset; trials per minute count the finished (complete or pruned) trials over the search's wall time; "
        "resume: seconds from a second fit call on the stored study to the start of its first new trial; "
        "RSS: the fitting process's peak.",
        "",
        "| dataset | mode | trials | trials / min | vs in memory | best CV score | resume s | peak RSS MB |",
        "|---|---|---|---|---|---|---|---|",
    ]
    base = {name: r["per_min"] for name, mode, r in rows if mode.startswith("in memory")}
    for name, mode, r in rows:
        resume = "" if r.get("resume_s") is None else f"{r['resume_s']:.1f}"
        rss = "" if r.get("rss_mb") is None else f"{r['rss_mb']:.0f}"
        score = "" if r["score"] is None else f"{r['score']:.4f}"
        lines.append(f"| {name} | {mode} | {r['trials']} | {r['per_min']:.1f} | {r['per_min'] / base[name]:.2f} | "
                     f"{score} | {resume} | {rss} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
