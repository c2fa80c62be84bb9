"""One system on one dataset split, in a process of its own (started by ``benchmarks.run``).

    python -m benchmarks.worker SPEC.json

SPEC holds ``entry`` (the manifest entry), ``folder``, ``system``, ``budget``, ``seed``,
``split_seed`` (the split's random_state; ``seed`` when absent), ``cpus`` (CPU ids this
process may use), ``result`` (JSON written here) and ``predictions`` (``.npz`` written
here: the test scores of the system and of its alternatives, the test targets, the
constant predictor's score). Errors are caught and
written to the result, so the parent always gets a row unless the process dies.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback


N_SINGLE = 20
BATCH = 1000


def split(entry: dict, folder: str, seed: int):
    """The protocol's 75/25 split, stratified for classification."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    df = pd.read_csv(os.path.join(folder, entry["file"]))
    target = entry["target"]
    stratify = df[target] if entry["task"] != "regression" else None
    return train_test_split(df, test_size=0.25, random_state=seed, stratify=stratify)


def latency(call, X):
    """(median ms of ``N_SINGLE`` one-row calls, median ms of 3 calls on ``BATCH`` rows)."""
    import numpy as np

    single = []
    for i in range(N_SINGLE):
        row = X.iloc[[i % len(X)]]
        start = time.perf_counter()
        call(row)
        single.append(time.perf_counter() - start)
    batch_rows = X.iloc[np.arange(BATCH) % len(X)]
    batch = []
    for _ in range(3):
        start = time.perf_counter()
        call(batch_rows)
        batch.append(time.perf_counter() - start)
    return 1000 * float(np.median(single)), 1000 * float(np.median(batch))


def _peak_rss_mb() -> float:
    """This process's maximum resident memory. (Children are left out: a forked helper,
    such as the one that counts physical cores, reports its parent's pages as its own.)"""
    import resource

    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KiB on Linux


def run(spec: dict) -> dict:
    import numpy as np
    from threadpoolctl import threadpool_limits

    from benchmarks import scoring
    from benchmarks.systems import SYSTEMS, aligned

    entry, task, budget, seed = spec["entry"], spec["entry"]["task"], spec["budget"], spec["seed"]
    row = {"dataset": entry["name"], "task": task, "seed": seed, "split_seed": spec.get("split_seed", seed),
           "system": spec["system"], "budget": budget, "metric": scoring.PRIMARY[task], "status": "error", "error": ""}
    if spec.get("cpus"):
        os.sched_setaffinity(0, spec["cpus"])
    n_jobs = len(os.sched_getaffinity(0))
    row["cpus"] = n_jobs
    try:
        train, test = split(entry, spec["folder"], spec.get("split_seed", seed))
        target = entry["target"]
        X, y = train.drop(columns=target), train[target]
        Xt = test.drop(columns=target)
        row.update(n_train=len(train), n_test=len(test), n_features=X.shape[1])
        classes = None if task == "regression" else sorted(np.unique(y.to_numpy()).tolist())
        if classes is None:
            y_train, y_test = y.to_numpy(dtype=float), test[target].to_numpy(dtype=float)
        else:
            y_train, y_test = np.searchsorted(classes, y.to_numpy()), np.searchsorted(classes, test[target].to_numpy())
        row["const_score"] = scoring.constant_score(task, y_train, y_test, len(classes or ()))
        with threadpool_limits(n_jobs):
            start = time.perf_counter()
            fitted = SYSTEMS[spec["system"]](X, y, task, budget, seed, n_jobs)
            row["fit_s"] = round(time.perf_counter() - start, 3)
            start = time.perf_counter()
            pred = aligned(fitted.call(Xt), fitted.classes, classes)
            row["predict_test_s"] = round(time.perf_counter() - start, 3)
            row["predict_1row_ms"], row["predict_1000_ms"] = latency(fitted.call, Xt)
            arrays = {"y": y_test, "pred": pred}
            for name, call in fitted.alternatives.items():
                try:
                    arrays[f"pred_{name}"] = aligned(call(Xt), fitted.classes, classes)
                    row[f"{name}_score"] = scoring.metrics(task, y_test, arrays[f"pred_{name}"])[row["metric"]]
                except Exception as exc:  # an alternative is a bonus: never fail the run for it
                    row["notes"] = f"{name}: {type(exc).__name__}: {exc}"
        row.update(scoring.metrics(task, y_test, pred))
        row["score"] = row[row["metric"]]
        row.update({k: json.dumps(v) if isinstance(v, (dict, list)) else v
                    for k, v in fitted.extras.items() if k not in row})
        np.savez_compressed(spec["predictions"], **arrays)
        row["status"] = "ok"
    except Exception as exc:
        row["error"] = f"{type(exc).__name__}: {exc}"
        row["traceback"] = traceback.format_exc(limit=-4)
    row["peak_rss_mb"] = _peak_rss_mb()
    return row


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as fh:
        spec = json.load(fh)
    row = run(spec)
    with open(spec["result"], "w") as fh:
        json.dump(row, fh, default=str)


if __name__ == "__main__":
    main()
