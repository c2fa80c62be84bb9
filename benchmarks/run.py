"""Benchmark runner: automl against FLAML and the default gradient boosting baselines.

    python -m benchmarks.run --datasets ../shared/datasets --budget 60 --peers ../shared/benchmarks/PEERS.md
    python -m benchmarks.run --smoke              # 3 bundled datasets, 5 s: checks the runner itself

For every dataset of the manifest and every seed, a 75/25 split (stratified for
classification); every system fits on the 75% in a process of its own (one at a time,
the same CPUs for each) and is scored on the 25%. Writes ``PREFIX_{budget}s.csv`` (one
row per run), ``..._pairs.csv`` (paired comparisons with their noise), ``.md`` (tables
and the pass/fail targets) and ``.png`` (normalised score per dataset per system) to
``--out``. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks import analysis, report, scoring
from benchmarks.systems import DEFAULT_SYSTEMS, SYSTEMS, flaml_available

ROOT = Path(__file__).resolve().parents[1]
SMOKE_NAMES = ("titanic", "vehicle", "bike_sharing")
SMOKE_BUDGET = 5.0
FIRST_COLUMNS = ["dataset", "task", "seed", "system", "budget", "status", "metric", "score", "norm_score",
                 "const_score", "roc_auc", "log_loss", "accuracy", "rmse", "r2", "single_score", "single_norm",
                 "fit_s", "predict_1row_ms", "predict_1000_ms", "predict_test_s", "peak_rss_mb",
                 "process_s", "error"]


def bundled_datasets() -> Path:
    import automl.datasets

    return Path(automl.datasets.__file__).parent


def run_one(entry: dict, folder: Path, system: str, budget: float, seed: int, cpus: list[int],
            timeout: float, work: Path, split_seed: int | None = None) -> tuple[dict, dict | None]:
    """One system on one split (``split_seed``'s; ``seed``'s when None) in a fresh process;
    always returns a row (never raises)."""
    tag = f"{entry['name']}-{seed}-{system}"
    spec = {"entry": entry, "folder": str(folder), "system": system, "budget": budget, "seed": seed,
            "split_seed": seed if split_seed is None else split_seed,
            "cpus": cpus, "result": str(work / f"{tag}.json"), "predictions": str(work / f"{tag}.npz")}
    (work / f"{tag}.spec.json").write_text(json.dumps(spec))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    row = {"dataset": entry["name"], "task": entry["task"], "seed": seed, "system": system, "budget": budget,
           "metric": scoring.PRIMARY[entry["task"]], "status": "error"}
    log_path = work / f"{tag}.log"
    start = time.perf_counter()
    with open(log_path, "w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", str(work / f"{tag}.spec.json")],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            row.update(status="timeout", error=f"killed after the {timeout:g} s timeout")
        except BaseException:  # Ctrl-C: the worker has its own session and did not get it
            _kill(proc)
            raise
    row["process_s"] = round(time.perf_counter() - start, 2)
    result = Path(spec["result"])
    if result.exists():
        row.update(json.loads(result.read_text()))
    elif row["status"] != "timeout":
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        row["error"] = f"process exited with code {proc.returncode}" + (f": {' | '.join(tail)}" if tail else "")
    arrays = None
    if row["status"] == "ok":
        with np.load(spec["predictions"]) as npz:
            arrays = {k: npz[k] for k in npz.files}
    return row, arrays


def _kill(proc: subprocess.Popen) -> None:
    """Kill the worker's own process group (it and any children it started)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait()


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", type=Path, help="folder with manifest.json (default: the bundled datasets "
                   "with --smoke, else ../shared/datasets)")
    p.add_argument("--budget", type=float, help=f"seconds per fit (default 60; {SMOKE_BUDGET:g} with --smoke)")
    p.add_argument("--names", nargs="+", help="only these datasets (default: all of the manifest; 3 with --smoke)")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="split (and system) seeds (default 0)")
    p.add_argument("--split-seed", type=int, help="one split for every seed, this seed's: with --seeds 1, the "
                   "systems run with seed 1 on PEERS.md's split (--split-seed 0), comparable with its figures")
    p.add_argument("--systems", nargs="+", choices=sorted(SYSTEMS), help=f"default: {' '.join(DEFAULT_SYSTEMS)} "
                   "(flaml when installed); also dummy (constant predictor) and fail (always raises)")
    p.add_argument("--cpus", type=int, help="CPUs given to each run (default: all this process may use)")
    p.add_argument("--timeout", type=float, help="kill a run after this many seconds (default 3 x budget + 120)")
    p.add_argument("--bootstrap", type=int, default=scoring.N_BOOT, help="bootstrap resamples for noise")
    p.add_argument("--peers", type=Path, help="PEERS.md whose table to compare with (seed 0)")
    p.add_argument("--out", type=Path, help="output folder (default benchmarks/results, benchmarks/results/smoke "
                   "with --smoke)")
    p.add_argument("--prefix", help="output file prefix (default 'peers', 'smoke' with --smoke)")
    p.add_argument("--smoke", action="store_true", help="small, fast run of the bundled datasets")
    args = p.parse_args(argv)
    if args.smoke:
        args.datasets = args.datasets or bundled_datasets()
        args.names = args.names or list(SMOKE_NAMES)
        args.budget = args.budget or SMOKE_BUDGET
        args.out = args.out or ROOT / "benchmarks" / "results" / "smoke"
        args.prefix = args.prefix or "smoke"
    args.datasets = args.datasets or ROOT.parent / "shared" / "datasets"
    args.budget = args.budget or 60.0
    args.out = args.out or ROOT / "benchmarks" / "results"
    args.prefix = args.prefix or "peers"
    args.timeout = args.timeout or 3 * args.budget + 120
    return args


def main(argv=None) -> pd.DataFrame:
    args = parse_args(argv)
    manifest = json.loads((args.datasets / "manifest.json").read_text())
    known = [e["name"] for e in manifest]
    unknown = sorted(set(args.names or ()) - set(known))
    if unknown:
        raise SystemExit(f"unknown dataset(s) {unknown}; the manifest has {known}")
    entries = [e for e in manifest if not args.names or e["name"] in args.names]
    peers = analysis.read_peers(args.peers) if args.peers else None
    notes = []
    systems = list(args.systems or DEFAULT_SYSTEMS)
    if "flaml" in systems and not flaml_available():
        systems.remove("flaml")
        notes.append("FLAML is not installed: skipped (pip install -r benchmarks/requirements.txt).")
    allowed = sorted(os.sched_getaffinity(0))
    cpus = allowed[: args.cpus] if args.cpus else allowed
    rows, predictions = [], {}
    total = len(entries) * len(args.seeds) * len(systems)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = str(args.out / f"{args.prefix}_{args.budget:g}s")
    try:
        with tempfile.TemporaryDirectory(prefix="automl-bench-") as tmp:
            for entry, seed, system in [(e, s, m) for e in entries for s in args.seeds for m in systems]:
                row, arrays = run_one(entry, args.datasets, system, args.budget, seed, cpus, args.timeout, Path(tmp),
                                     args.split_seed)
                rows.append(row)
                if arrays is not None:
                    predictions[entry["name"], seed, system] = arrays
                score = f"{row['metric']} {row['score']:.4f}" if row["status"] == "ok" else row["error"]
                print(f"[{len(rows)}/{total}] {entry['name']} seed {seed} {system}: {row['status']}, {score}, "
                      f"fit {row.get('fit_s', float('nan')):.1f} s", flush=True)
                if row.get("traceback"):
                    print(row["traceback"], file=sys.stderr, flush=True)
                # raw rows so far (replaced by the full table at the end), in case the run is cut short
                pd.DataFrame(rows).drop(columns=["traceback"], errors="ignore").to_csv(f"{stem}.csv", index=False)
    except KeyboardInterrupt:
        notes.append(f"Interrupted after {len(rows)} of {total} runs: partial results.")
        print(notes[-1], file=sys.stderr)
    if not rows:
        raise SystemExit("no run finished")
    frame = analysis.normalised(pd.DataFrame(rows))
    frame = frame[[c for c in FIRST_COLUMNS if c in frame] + [c for c in frame if c not in FIRST_COLUMNS]]
    pair_rows = analysis.pairs(frame, predictions, args.bootstrap)
    frame.drop(columns=["traceback"], errors="ignore").to_csv(f"{stem}.csv", index=False)
    pair_rows.to_csv(f"{stem}_pairs.csv", index=False)
    plot_note = report.plot(frame, Path(f"{stem}.png"), args.budget)
    if plot_note:
        notes.append(plot_note)
    command = "python -m benchmarks.run " + shlex.join(argv if argv is not None else sys.argv[1:])
    md = report.markdown(frame, pair_rows, args.budget, report.environment(len(cpus)), command, notes, peers)
    Path(f"{stem}.md").write_text(md)
    print(md)
    print(f"wrote {stem}.csv, {stem}_pairs.csv, {stem}.md" + ("" if plot_note else f", {stem}.png"))
    return frame


if __name__ == "__main__":
    main()
