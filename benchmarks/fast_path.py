"""The final model's fast path against its batch path, by rows per call.

    python -m benchmarks.fast_path --datasets ../shared/datasets --budget 60 --names credit_g adult
    python -m benchmarks.fast_path --models model.automl:credit_g   # a saved model, scored on its dataset

For each dataset: fit ``AutoML(time_budget=BUDGET, seed=0)`` on 75% of the rows (or load
the given model file), then on held-out rows time ``predict`` through the fast path and
through the batch path (each member's Pipeline) at 1, 4, 16, 64, 256 and 1,000 rows a call
(median of several calls, in this one process, alternating), and check that both give the
same scores. ``FAST_ROWS`` (automl/final/fast_path.py) is set from where the two cross.
Writes a Markdown table to stdout (and ``--out``).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

ROWS = (1, 4, 16, 64, 256, 1000)


def _median_ms(call, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return 1000 * float(np.median(times))


def measure(aml, X: pd.DataFrame) -> list[dict]:
    from automl.preprocessing.pipeline import predict_scores

    ens = aml.ensemble_
    k = len(aml.classes_) if aml.task_.is_classification else 0
    fast = ens.fast_path(k)
    rows = []
    for n in ROWS:
        frame = aml._features(X.iloc[np.arange(n) % len(X)])
        repeats = 21 if n <= 16 else 5
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            batch_scores = [predict_scores(p, frame, k) for p in ens.pipelines]
            fast_scores = fast.member_scores(frame)
            diff = max(float(np.max(np.abs(a - b))) for a, b in zip(fast_scores, batch_scores))
            t_fast = _median_ms(lambda: fast.member_scores(frame), repeats)
            t_batch = _median_ms(lambda: [predict_scores(p, frame, k) for p in ens.pipelines], repeats)
        t_predict = _median_ms(lambda: aml.predict(X.iloc[np.arange(n) % len(X)]), repeats)
        rows.append({"rows": n, "fast_ms": round(t_fast, 3), "batch_ms": round(t_batch, 3),
                     "predict_ms": round(t_predict, 3), "max_abs_diff": diff,
                     "members": len(ens.pipelines), "compiled": fast.compiled})
    return rows


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", type=Path, default=Path("../shared/datasets"))
    p.add_argument("--budget", type=float, default=60)
    p.add_argument("--names", nargs="*", default=[])
    p.add_argument("--models", nargs="*", default=[], help="MODEL_FILE:DATASET pairs (no fit)")
    p.add_argument("--out", type=Path)
    args = p.parse_args(argv)
    from sklearn.model_selection import train_test_split

    from automl import AutoML

    manifest = {d["name"]: d for d in json.loads((args.datasets / "manifest.json").read_text())}
    jobs = [(None, n) for n in args.names] + [tuple(m.rsplit(":", 1)) for m in args.models]
    lines = []
    for model_file, name in jobs:
        entry = manifest[name]
        df = pd.read_csv(args.datasets / entry["file"])
        train, test = train_test_split(df, test_size=0.25, random_state=0)
        if model_file:
            aml = AutoML.load(model_file)
        else:
            aml = AutoML(time_budget=args.budget, seed=0, verbose=0).fit(train, entry["target"])
        X = test.drop(columns=[entry["target"]])
        for r in measure(aml, X):
            lines.append(f"| {name} | {aml.ensemble_.method} | {r['members']} ({r['compiled']} compiled) | {r['rows']} "
                         f"| {r['fast_ms']} | {r['batch_ms']} | {r['predict_ms']} | {r['max_abs_diff']:.1e} |")
            print(lines[-1], flush=True)
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    head = [f"# Fast path vs batch path ({datetime.date.today()}, {platform.node()}, "
            f"{platform.processor() or platform.machine()}, commit {commit}, budget {args.budget:g} s)", "",
            "| dataset | method | members | rows | fast ms | batch ms | predict ms | max abs diff |",
            "|---|---|---|---|---|---|---|---|"]
    text = "\n".join(head + lines) + "\n"
    if args.out:
        args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
