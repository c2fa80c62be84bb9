"""What isolated trials cost: trials per minute with every model in a worker process
(``isolation="process"``) against every model in the fitting process (``"none"``).

    python -m benchmarks.isolation --datasets ../shared/datasets --trials 20 --time 60 --repeats 2

Two measures per dataset, each fit in a fresh process, the two modes alternated over
``--repeats`` rounds (the median is reported):

- fixed trials (``n_trials``, no budget, one seed): both modes train exactly the same
  trials (the leaderboards are compared), so the ratio of the search times is the
  isolation's whole cost: the worker's start, sending each fold's prepared rows once,
  the per-fold messages, the models fetched for a new best trial. Split in two: the
  per-trial cost (the same trials' durations after the first, which may wait for the
  worker's start) and what is paid once per fit (the rest of the difference);
- a time budget (``--time``): trials per minute of search, as the acceptance criterion
  reads (<= 5% fewer with isolation where it is used). Every trial that ended counts:
  one the worker stopped at ``trial_time_limit`` (failed) ran its time too, while in this
  process nothing can stop it and it completes.

``"auto"`` (the default) isolates only third-party plugins' models: the built-in ones
pay nothing, so "process" is the upper bound of what "auto" costs. Run it alone on the
machine: the rates are wall-clock. ``--smoke`` runs a tiny version on the bundled titanic
data (a check that the script works, not a measurement). Writes
``benchmarks/results/isolation.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import date
from pathlib import Path

DATASETS = ("credit_g", "phoneme", "adult")
ROOT = Path(__file__).resolve().parents[1]
MODES = ("none", "process")


def _frame(datasets: str, name: str):
    import pandas as pd

    if datasets == "bundled":
        from automl import datasets as bundled

        d = bundled.load(name)
        return d.frame, d.target
    entry = {d["name"]: d for d in json.loads((Path(datasets) / "manifest.json").read_text())}[name]
    return pd.read_csv(Path(datasets) / entry["file"]), entry["target"]


def one_fit(datasets: str, name: str, isolation: str, trials: int | None, seconds: float | None, jobs: int) -> dict:
    """In this process: one fit; its search time, trials and leaderboard."""
    import optuna

    from automl import AutoML

    frame, target = _frame(datasets, name)
    aml = AutoML(time_budget=seconds, n_trials=trials, isolation=isolation, n_jobs=jobs, verbose=0, seed=0)
    aml.fit(frame, target)
    states = optuna.trial.TrialState
    # every trial that ended: one stopped at its time limit (failed) ran too, and has its row
    done = [t for t in aml.study_.get_trials(deepcopy=False) if t.state in (states.COMPLETE, states.PRUNED, states.FAIL)]
    failed = sum(t.state == states.FAIL for t in done)
    board = aml.leaderboard()
    ended = sorted((t for t in aml.study_.get_trials(deepcopy=False) if t.datetime_complete is not None),
                   key=lambda t: t.number)
    return {"trials": len(done), "failed": failed, "search_s": aml.timings_["search"], "per_min": 60 * len(done) / aml.timings_["search"],
            "trial_s": [(t.datetime_complete - t.datetime_start).total_seconds() for t in ended],
            "board": board[["model", "status", "score"]].astype(str).values.tolist()}


def _child(*args) -> dict:
    code = "import json, sys; from benchmarks.isolation import one_fit; print(json.dumps(one_fit(*json.loads(sys.argv[1]))))"
    out = subprocess.run([sys.executable, "-c", code, json.dumps(args)], capture_output=True, text=True, cwd=ROOT,
                         env={**os.environ, "PYTHONWARNINGS": "ignore"})
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(datasets: str, name: str, trials: int, seconds: float, repeats: int, jobs: int) -> dict:
    fixed = {m: [] for m in MODES}
    timed = {m: [] for m in MODES}
    for r in range(repeats):
        for mode in (MODES if r % 2 == 0 else MODES[::-1]):  # alternate: drift on the machine hits both
            fixed[mode].append(_child(datasets, name, mode, trials, None, jobs))
            timed[mode].append(_child(datasets, name, mode, None, seconds, jobs))
            print(name, mode, "fixed", fixed[mode][-1]["search_s"], "timed", timed[mode][-1]["per_min"],
                  file=sys.stderr)
    same = all(run["board"] == fixed["none"][0]["board"] for m in MODES for run in fixed[m])
    out = {"same_trials": same}
    for m in MODES:
        out[m] = {"fixed_search_s": statistics.median(r["search_s"] for r in fixed[m]),
                  # the trials after the first (which waits for the worker's start, if it has to)
                  "fixed_later_s": statistics.median(sum(r["trial_s"][1:]) for r in fixed[m]),
                  "fixed_trials": fixed[m][0]["trials"],
                  "timed_per_min": statistics.median(r["per_min"] for r in timed[m]),
                  "timed_failed": statistics.median(r["failed"] for r in timed[m])}
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--datasets", default=str(ROOT.parent / "shared" / "datasets"))
    ap.add_argument("--only", nargs="*", default=list(DATASETS))
    ap.add_argument("--trials", type=int, default=20, help="trials of the fixed-trials measure")
    ap.add_argument("--time", type=float, default=60, help="budget of the timed measure")
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--smoke", action="store_true", help="titanic (bundled), 3 trials, 8 s, once: the script works")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "isolation.md"))
    args = ap.parse_args(argv)
    if args.smoke:
        args.datasets, args.only, args.trials, args.time, args.repeats = "bundled", ["titanic"], 3, 8.0, 1
        args.out = str(Path(args.out).with_name("isolation_smoke.md"))
    rows = [(name, measure(args.datasets, name, args.trials, args.time, args.repeats, args.jobs)) for name in args.only]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    command = "python -m benchmarks.isolation " + (" ".join(argv) if argv is not None else " ".join(sys.argv[1:]))
    lines = [
        "# Isolated trials: what the worker process costs" + (" (smoke run: not a measurement)" if args.smoke else ""),
        "",
        f"{date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores; commit {commit}; "
        f"`{command.strip()}`; medians of {args.repeats} round(s), each fit in a fresh process. Fixed: "
        f"{args.trials} trials, no budget, seed 0 (the same trials in both modes: 'same'); ratio = search time "
        f"here / in the worker (1.00: no cost). Timed: {args.time:g} s budget, trials that ended (complete, pruned or failed: a trial "
        "stopped at `trial_time_limit`, which only the worker can enforce, ran too) per minute of search; "
        "failed: how many of them failed (median). \"process\" isolates every model; the default \"auto\" only third-party ones.",
        "",
        "Per trial: the same trials' own durations after the first (the first may wait for the worker's "
        "start), none / process; start s: what the rest of the difference costs once per fit (the worker's "
        "start, what the first trial waits of it).",
        "",
        "| dataset | same | fixed: search s, none | fixed: search s, process | fixed ratio | per-trial ratio | "
        "start s | timed: trials/min, none | timed: trials/min, process | timed ratio | timed: failed, none / process |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in rows:
        a, b = r["none"], r["process"]
        start = (b["fixed_search_s"] - a["fixed_search_s"]) - (b["fixed_later_s"] - a["fixed_later_s"])
        lines.append(f"| {name} | {'yes' if r['same_trials'] else 'NO'} | {a['fixed_search_s']:.1f} | "
                     f"{b['fixed_search_s']:.1f} | {a['fixed_search_s'] / b['fixed_search_s']:.3f} | "
                     f"{a['fixed_later_s'] / b['fixed_later_s']:.3f} | {start:.1f} | "
                     f"{a['timed_per_min']:.1f} | {b['timed_per_min']:.1f} | {b['timed_per_min'] / a['timed_per_min']:.3f} | "
                     f"{a['timed_failed']:g} / {b['timed_failed']:g} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
