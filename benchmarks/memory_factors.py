"""Where ``automl.search.memory.FACTORS`` come from: the peak memory of fitting each built-in
model's default configuration (and scoring its validation rows), in float64 copies of the
training matrix.

    python -m benchmarks.memory_factors --rows 20000 --columns 50

Each model is fitted in a fresh process on random floats (a binary target, or a continuous one for a regression-only model): the factor is
(peak resident memory after the fit and predict - peak before the fit) / (rows x columns x
8 bytes). Run it alone on the machine. Writes ``benchmarks/results/memory_factors.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def one(name: str, rows: int, columns: int) -> dict:
    import resource

    import numpy as np
    import pandas as pd

    from automl import BuildContext, Task
    from automl.registry import discover

    spec = discover().specs[name]
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(rows, columns)), columns=[f"x{i}" for i in range(columns)])
    task = Task.BINARY if Task.BINARY in spec.tasks else Task.REGRESSION
    y = X["x0"].to_numpy() + rng.normal(size=rows)
    y = (y > 0).astype(int) if task is Task.BINARY else y
    model = spec.build(dict(spec.default_params[0]), BuildContext(task, n_jobs=1, n_classes=2 if task is Task.BINARY else 0))
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    model.fit(X, y)
    getattr(model, "predict_proba", model.predict)(X.iloc[: rows // 5])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    return {"model": name, "peak_mb": (after - before) / 2**20, "factor": (after - before) / (rows * columns * 8)}


def main(argv: list[str] | None = None) -> int:
    from automl.search.memory import FACTORS

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=20000)
    ap.add_argument("--columns", type=int, default=50)
    ap.add_argument("--only", nargs="*", default=sorted(FACTORS))
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory_factors.md"))
    args = ap.parse_args(argv)
    lines = ["# Memory factors of the built-in models", "",
             f"`python -m benchmarks.memory_factors --rows {args.rows} --columns {args.columns}`: peak resident memory "
             f"of fitting the default configuration and predicting a fifth of the rows, over the training matrix "
             f"({args.rows * args.columns * 8 / 2**20:.1f} MB); a fresh process per model.", "",
             "| model | peak MB over the data | measured: copies of the matrix | used: (copies, bytes/row, fixed MB) |",
             "|---|---|---|---|"]
    for name in args.only:
        code = ("import json, sys; from benchmarks.memory_factors import one; "
                f"print(json.dumps(one({name!r}, {args.rows}, {args.columns})))")
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                             env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if out.returncode:
            lines.append(f"| {name} | failed: {out.stderr.strip().splitlines()[-1][:80]} | | {FACTORS[name]} |")
            continue
        r = json.loads(out.stdout.strip().splitlines()[-1])
        lines.append(f"| {name} | {r['peak_mb']:.0f} | {r['factor']:.1f} | {FACTORS[name]} |")
        print(lines[-1], file=sys.stderr)
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
