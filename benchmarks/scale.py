"""Scale benchmark: automl on generated tables of 1e4 to 1e7 rows, against a default LightGBM.

    python -m benchmarks.scale --rows 10000 100000 1000000 --budget 120 --out benchmarks/results/scale_120s.md
    python -m benchmarks.scale --rows 10000 --budget 20          # a quick check of the runner

The table has the shape of issue 22: 18 feature columns, 14 numeric (each with 5-20%
missing values) and 4 strings of 3, 30, 300 and 900 levels (Zipf-like frequencies, 2%
missing), a binary target from a nonlinear function of both kinds plus noise. Every
system fits in a fresh process on 80% of the rows and is scored on the other 20%
(ROC AUC). For each row count it reports: automl's fit time against the budget, trials run
(complete / pruned / failed), peak RSS and its multiple of the training frame's in-memory
size, the holdout AUC of automl and of a default ``LGBMClassifier`` (categories as pandas
categoricals), and the median time to predict 1 row (of 20 calls) and 1,000 rows (of 3).
A run that fails (out of memory, timeout) is recorded with its error, so a 1e7-row run
shows where it stops and why.
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.worker import latency

LEVELS = (3, 30, 300, 900)


def make_table(n_rows: int, seed: int = 0) -> pd.DataFrame:
    """The generated table (features and a binary ``target``)."""
    rng = np.random.default_rng(seed)
    num = rng.normal(size=(n_rows, 14))
    frame = pd.DataFrame(num, columns=[f"x{i}" for i in range(14)])
    effects = []
    for j, k in enumerate(LEVELS):
        p = 1.0 / np.arange(1, k + 1) ** 0.8
        codes = rng.choice(k, size=n_rows, p=p / p.sum())
        effect = rng.normal(scale=0.6, size=k)
        effects.append(effect[codes])
        col = np.array([f"c{j}_{i}" for i in range(k)], dtype=object)[codes]
        col[rng.random(n_rows) < 0.02] = None
        frame[f"s{j}"] = col
    logit = (num[:, 0] + 0.8 * num[:, 1] * num[:, 2] + np.sin(2 * num[:, 3]) + 0.5 * np.abs(num[:, 4])
             - 0.7 + sum(effects))
    frame["target"] = (logit + rng.logistic(scale=0.8, size=n_rows) > 0).astype(int)
    for i in range(14):
        frame.loc[rng.random(n_rows) < 0.05 + 0.01 * i, f"x{i}"] = np.nan
    return frame


def _split(n_rows: int, seed: int):
    frame = make_table(n_rows, seed)
    test = np.random.default_rng(seed + 1).random(n_rows) < 0.2
    return frame[~test].reset_index(drop=True), frame[test].reset_index(drop=True)


def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(system: str, n_rows: int, budget: float, seed: int) -> dict:
    """One fit in this process (called in a fresh process by :func:`main`)."""
    from sklearn.metrics import roc_auc_score

    train, test = _split(n_rows, seed)
    data_mb = train.memory_usage(deep=True).sum() / 2**20
    X_test, y_test = test.drop(columns="target"), test["target"].to_numpy()
    row = {"system": system, "rows": n_rows, "budget": budget, "data_mb": round(data_mb, 1)}
    base_rss = _peak_rss_mb()
    t0 = time.perf_counter()
    if system == "automl":
        from automl import AutoML

        model = AutoML(time_budget=budget, seed=seed, verbose=0).fit(train, "target")
        row["fit_s"] = round(time.perf_counter() - t0, 2)
        lb = model.leaderboard()
        status = lb["status"].value_counts().to_dict() if "status" in lb else {}
        row["trials"] = int(len(lb))
        row["trial_status"] = json.dumps({str(k): int(v) for k, v in status.items()})
        proba = model.predict_proba(X_test)[:, 1]
        predict = model.predict_proba
        row["final"] = model.ensemble_.method
    else:
        import lightgbm

        cats = [c for c in train.columns if c.startswith("s")]

        def prepared(X):
            X = X.copy()
            for c in cats:
                X[c] = pd.Categorical(X[c], categories=sorted(train[c].dropna().unique()))
            return X

        model = lightgbm.LGBMClassifier(verbose=-1, random_state=seed).fit(prepared(train.drop(columns="target")),
                                                                           train["target"])
        row["fit_s"] = round(time.perf_counter() - t0, 2)
        proba = model.predict_proba(prepared(X_test))[:, 1]

        def predict(X):
            return model.predict_proba(prepared(X))
    row["auc"] = round(float(roc_auc_score(y_test, proba)), 5)
    row["predict_1_ms"], row["predict_1000_ms"] = (round(v, 2) for v in latency(predict, X_test))
    row["peak_rss_mb"] = round(_peak_rss_mb(), 1)
    row["rss_before_fit_mb"] = round(base_rss, 1)
    row["rss_multiple"] = round(row["peak_rss_mb"] / max(data_mb, 1e-9), 2)
    return row


def _markdown(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in table[cols].itertuples(False)]
    return "\n".join(lines)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", nargs="+", type=int, default=[10_000, 100_000, 1_000_000])
    p.add_argument("--budget", type=float, default=120)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--systems", nargs="+", default=["automl", "lightgbm"])
    p.add_argument("--timeout", type=float, help="seconds per run (default 3 x budget + 300)")
    p.add_argument("--out", type=Path)
    p.add_argument("--one", help=argparse.SUPPRESS)  # system:rows, run in this process, print JSON
    args = p.parse_args(argv)
    if args.one:
        system, n = args.one.split(":")
        print("RESULT " + json.dumps(run_one(system, int(n), args.budget, args.seed)), flush=True)
        return
    rows = []
    for n in args.rows:
        for system in args.systems:
            cmd = [sys.executable, "-m", "benchmarks.scale", "--one", f"{system}:{n}", "--budget", str(args.budget),
                   "--seed", str(args.seed)]
            try:
                done = subprocess.run(cmd, capture_output=True, text=True,
                                      timeout=args.timeout or 3 * args.budget + 300)
                lines = [ln for ln in done.stdout.splitlines() if ln.startswith("RESULT ")]
                if lines:
                    row = json.loads(lines[-1][7:])
                else:
                    row = {"system": system, "rows": n, "error": (done.stderr.strip().splitlines() or ["?"])[-1][:200],
                           "returncode": done.returncode}
            except subprocess.TimeoutExpired:
                row = {"system": system, "rows": n, "error": "timeout"}
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    text = (f"# Scale benchmark ({datetime.date.today()}, {platform.node()}, commit {commit}, "
            f"budget {args.budget:g} s, seed {args.seed})\n\n" + _markdown(table) + "\n")
    if args.out:
        args.out.write_text(text)
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(text)


if __name__ == "__main__":
    main()
