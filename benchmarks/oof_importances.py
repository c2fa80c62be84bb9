"""Feature importances without data are measured out of fold: a planted noise column gets none.

    python -m benchmarks.oof_importances --datasets ../shared/datasets --budget 60

A column of pure noise (standard normal, seeded) is added to the dataset (default
california_housing); a 75/25 split (``random_state=0``); ``AutoML(time_budget=budget)``
fits on the 75%. Then three importance tables of the same model: ``feature_importances()``
(no data: out of fold, each training row predicted by the best trial's fold model that did
not see it), ``feature_importances(train)`` (the final model on the rows it was refit on:
in-sample) and ``feature_importances(test)`` (held out). The checks: out of fold, the noise
column's interval contains 0 and the top column is the held-out top column. Writes
``oof_importances_{name}_{budget}s.md`` to ``--out``; exit status 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

ROOT = Path(__file__).resolve().parents[1]
NOISE = "planted_noise"


def _row(imp: pd.DataFrame, column: str) -> str:
    r = imp.loc[column]
    return f"{r['importance']:.4g} [{r['ci_low']:.4g}, {r['ci_high']:.4g}] (rank {r['rank']})"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    p.add_argument("--name", default="california_housing")
    p.add_argument("--budget", type=float, default=60.0)
    p.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    args = p.parse_args(argv)

    from automl import AutoML

    entry = {e["name"]: e for e in json.loads((args.datasets / "manifest.json").read_text())}[args.name]
    df = pd.read_csv(args.datasets / entry["file"])
    df[NOISE] = np.random.default_rng(0).normal(size=len(df))
    target = entry["target"]
    train, test = train_test_split(df, test_size=0.25, random_state=0,
                                   stratify=df[target] if entry["task"] != "regression" else None)
    start = time.perf_counter()
    aml = AutoML(time_budget=args.budget, seed=0, verbose=0).fit(train, target)
    fit_s = time.perf_counter() - start
    tables = {}
    for label, data in (("out of fold (no data)", None), ("in-sample (training rows)", train),
                        ("held out", test)):
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tables[label] = (aml.feature_importances(data), time.perf_counter() - start)
    oof, held = tables["out of fold (no data)"][0], tables["held out"][0]
    noise_ok = bool(oof.loc[NOISE, "ci_low"] <= 0 <= oof.loc[NOISE, "ci_high"])
    top_ok = oof.index[0] == held.index[0]
    lines = [f"# Importances without data on {args.name} ({args.budget:g} s fit, {fit_s:.0f} s)", "",
             f"Final model: {aml.ensemble_.report}", "",
             "| measured | top column | " + f"{NOISE} | seconds |", "|---|---|---|---|"]
    for label, (imp, seconds) in tables.items():
        lines.append(f"| {label} | {imp.index[0]}: {_row(imp, imp.index[0])} | {_row(imp, NOISE)} | {seconds:.1f} |")
    lines += ["", f"Out of fold, the noise column's interval contains 0: {noise_ok}; the top column is the "
              f"held-out top column ({held.index[0]}): {top_ok}."]
    text = "\n".join(lines) + "\n"
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"oof_importances_{args.name}_{args.budget:g}s.md").write_text(text)
    return 0 if noise_ok and top_ok else 1


if __name__ == "__main__":
    sys.exit(main())
