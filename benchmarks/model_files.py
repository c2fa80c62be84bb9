"""Model files: save and load times and sizes against joblib pickles, and loading in a fresh process.

    python -m benchmarks.model_files --datasets ../shared/datasets --budget 30
    python -m benchmarks.model_files --smoke        # titanic and vehicle (bundled), 3 s: checks the script

For each dataset (default: titanic, vehicle, california_housing, letter, adult), a 75/25
split (``random_state=0``, stratified for classification); ``AutoML(time_budget=budget)``
fits on the 75% in this process. Then, for the model file (``AutoML.save``) and for a joblib
pickle of the same object (``joblib.dump(aml, compress=3)``, automl's format before 3):
the save and load times in this process (median of ``--repeats``), the file size, and in a
fresh process without a GPU (``CUDA_VISIBLE_DEVICES=""``) the time to import automl, load
the file and predict one row. The fresh process also predicts every test row; those
predictions (and the best pipeline's) must equal this process's exactly, else the run
fails (exit status 1): the acceptance check that every model saves and loads anywhere.
It also checks that none of the first 200 training rows (as CSV lines) is in the file.
Writes ``model_files_{budget}s.md`` and ``.json`` to ``--out``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
NAMES = ("titanic", "vehicle", "california_housing", "letter", "adult")
SMOKE_NAMES, SMOKE_BUDGET = ("titanic", "vehicle"), 3.0
GREP_ROWS = 200


def _outputs(aml, X) -> dict[str, np.ndarray]:
    """What must survive the round trip: the final model's predictions and the best pipeline's."""
    out = {"predict": np.asarray(aml.predict(X))}
    if aml.task_.is_classification:
        out["predict_proba"] = aml.predict_proba(X)
    best = aml.best_model_
    out["best_model"] = np.asarray(best.predict_proba(X) if hasattr(best, "predict_proba") and
                                   aml.task_.is_classification else best.predict(X))
    # labels as text: .npz files are read back without pickle
    return {k: v.astype(str) if v.dtype == object else v for k, v in out.items()}


# -------------------------------------------------------------- fresh process --
def child(model: str, kind: str, rows: str, out: str) -> None:
    """Run in a fresh process: import, load, predict one row, then every row; JSON timings on stdout."""
    t0 = time.perf_counter()
    from automl import AutoML

    t1 = time.perf_counter()
    if kind == "joblib":
        import joblib

        aml = joblib.load(model)
    else:
        aml = AutoML.load(model)
    t2 = time.perf_counter()
    X = pd.read_csv(rows)
    aml.predict(X.iloc[:1])
    t3 = time.perf_counter()
    np.savez(out, **_outputs(aml, X))
    print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "predict_1row_s": t3 - t2}))


def fresh(model: Path, kind: str, rows: Path, work: Path) -> tuple[dict, dict[str, np.ndarray]]:
    out = work / f"{kind}-out.npz"
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="",
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "benchmarks.model_files", "--child", str(model), kind, str(rows),
                           str(out)], env=env, capture_output=True, text=True, cwd=ROOT)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise RuntimeError(f"the fresh process failed to load the {kind} file: {done.stderr.strip()[-2000:]}")
    timings = json.loads(done.stdout.strip().splitlines()[-1]) | {"process_s": wall}
    with np.load(out, allow_pickle=False) as arrays:
        return timings, {k: arrays[k] for k in arrays.files}


# ------------------------------------------------------------------ measures --
def _median_time(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _rows_in_file(path: Path, train: pd.DataFrame) -> int:
    """How many of the first ``GREP_ROWS`` training rows (CSV lines) appear in any member."""
    with zipfile.ZipFile(path) as zf:
        blob = b"\n".join(zf.read(n) for n in zf.namelist())
    lines = train.head(GREP_ROWS).to_csv(index=False, header=False).splitlines()
    return sum(line.encode() in blob for line in lines)


def run_one(entry: dict, folder: Path, budget: float, repeats: int, work: Path) -> dict:
    import joblib

    from automl import AutoML

    df = pd.read_csv(folder / entry["file"])
    target, task = entry["target"], entry["task"]
    train, test = train_test_split(df, test_size=0.25, random_state=0,
                                   stratify=df[target] if task != "regression" else None)
    rows = work / "rows.csv"
    test.drop(columns=target).to_csv(rows, index=False)
    X = pd.read_csv(rows)  # as the fresh process reads them
    row = {"dataset": entry["name"], "task": task, "rows": len(train), "budget": budget}
    start = time.perf_counter()
    aml = AutoML(time_budget=budget, seed=0, verbose=0).fit(train, target)
    row["fit_s"] = round(time.perf_counter() - start, 1)
    row["final_model"] = aml.ensemble_.method + ": " + ", ".join(m["model"] for m in aml.ensemble_.members)
    expected = _outputs(aml, X)
    paths = {"automl": work / "m.automl", "joblib": work / "m.joblib"}
    savers = {"automl": lambda: aml.save(paths["automl"]),
              "joblib": lambda: joblib.dump(aml, paths["joblib"], compress=3)}
    loaders = {"automl": lambda: AutoML.load(paths["automl"]), "joblib": lambda: joblib.load(paths["joblib"])}
    for kind in ("automl", "joblib"):
        row[f"{kind}_save_s"] = _median_time(savers[kind], repeats)
        row[f"{kind}_mb"] = paths[kind].stat().st_size / 2**20
        row[f"{kind}_load_s"] = _median_time(loaders[kind], repeats)
        timings, got = fresh(paths[kind], kind, rows, work)
        row.update({f"{kind}_fresh_{k}": v for k, v in timings.items()})
        if kind == "automl":
            row["identical"] = all(np.array_equal(expected[k], got[k]) for k in expected) and set(got) == set(expected)
    row["training_rows_in_file"] = _rows_in_file(paths["automl"], train)
    return row


def _commit() -> str:
    return subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()


def markdown(rows: list[dict], budget: float) -> str:
    head = ["dataset", "final model", "fit s", "file MB (joblib)", "save s (joblib)", "load s (joblib)",
            "fresh: import + load + 1 row s (joblib)", "identical", "train rows in file"]
    lines = [f"# Model files vs joblib pickles ({budget:g} s fits)", "",
             f"{_dt.date.today()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores, commit "
             f"{_commit()}; python {sys.version.split()[0]}; medians of in-process save/load; 'fresh': a new "
             "process without a GPU.",
             "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['dataset']} | error: {r['error']} |" + " |" * (len(head) - 2))
            continue

        def fresh_total(kind: str) -> float:
            return r[f"{kind}_fresh_import_s"] + r[f"{kind}_fresh_load_s"] + r[f"{kind}_fresh_predict_1row_s"]

        lines.append(
            f"| {r['dataset']} | {r['final_model']} | {r['fit_s']} | {r['automl_mb']:.2f} ({r['joblib_mb']:.2f}) | "
            f"{r['automl_save_s']:.3f} ({r['joblib_save_s']:.3f}) | "
            f"{r['automl_load_s']:.3f} ({r['joblib_load_s']:.3f}) | "
            f"{fresh_total('automl'):.2f} ({fresh_total('joblib'):.2f}) | {r['identical']} | "
            f"{r['training_rows_in_file']} of {GREP_ROWS} |")
    return "\n".join(lines) + "\n"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    p.add_argument("--names", nargs="+", default=list(NAMES))
    p.add_argument("--budget", type=float, default=30.0)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    p.add_argument("--smoke", action="store_true", help="titanic and vehicle from the bundled datasets, 3 s fits")
    p.add_argument("--child", nargs=4, metavar=("MODEL", "KIND", "ROWS", "OUT"), help=argparse.SUPPRESS)
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    if args.smoke:
        import automl.datasets

        args.datasets, args.names, args.budget = Path(automl.datasets.__file__).parent, list(SMOKE_NAMES), SMOKE_BUDGET
        args.repeats, args.out = 1, args.out / "smoke"
    manifest = {e["name"]: e for e in json.loads((args.datasets / "manifest.json").read_text())}
    results = []
    for name in args.names:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                row = run_one(manifest[name], args.datasets, args.budget, args.repeats, Path(tmp))
            except Exception as exc:  # one dataset's failure is a result too
                row = {"dataset": name, "error": f"{type(exc).__name__}: {exc}", "identical": False}
        print(json.dumps(row), flush=True)
        results.append(row)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / f"model_files_{args.budget:g}s"
    stem.with_suffix(".json").write_text(json.dumps(results, indent=1))
    stem.with_suffix(".md").write_text(markdown(results, args.budget))
    print(f"Wrote {stem}.md and .json", file=sys.stderr)
    failed = [r["dataset"] for r in results if not r.get("identical") or r.get("training_rows_in_file")]
    if failed:
        print(f"FAILED (predictions differ after loading, or training rows in the file): {failed}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
