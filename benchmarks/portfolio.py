"""Offline evaluation of candidate default configurations per boosting family (issue 23, the portfolio).

    python -m benchmarks.portfolio --datasets ../shared/datasets --family lightgbm \\
        --out benchmarks/results/portfolio_lightgbm.md

Each candidate is scored on every shared dataset **without touching the benchmark's test
rows**: the protocol's 75/25 split (``random_state=0``) is made, the 25% is set aside, and the
75% is split again 80/20 (``--inner-seeds``, stratified for classification). The candidate is
fitted on the 80% through automl's own preprocessing for its family (``build_pipeline``) at the
fidelity's full resource and scored on the 20% at each of the search's rungs, keeping the best
rung, as a trial of the search does. Scores are the benchmark's primary metric, normalised per
dataset between the candidates: 0 = the worst, 1 = the best (see ``normalised``).

The portfolio is chosen greedily (auto-sklearn 2's portfolio construction, TabRepo's zero-shot
portfolios): first the candidate with the best mean normalised score, then each time the one
that most raises the mean of the per-dataset best over the chosen ones. The table gives that
order, the mean each prefix reaches and the median fit time.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.scoring import LOWER_IS_BETTER

#: Candidates per family: (name, parameters, where it comes from). Parameters stay inside the
#: family's search space so that TPE can start from them.
CANDIDATES = {
    "lightgbm": [
        ("library", {"learning_rate": 0.1, "num_leaves": 31, "min_child_samples": 20, "subsample": 1.0,
                     "colsample_bytree": 1.0, "reg_lambda": 0.0}, "LightGBM's own defaults"),
        ("wave1", {"learning_rate": 0.05, "num_leaves": 63, "min_child_samples": 10, "subsample": 0.8,
                   "colsample_bytree": 0.8, "reg_lambda": 1.0}, "automl's wave-1 second default"),
        ("ag_large", {"learning_rate": 0.03, "num_leaves": 128, "min_child_samples": 3, "subsample": 1.0,
                      "colsample_bytree": 0.9, "reg_lambda": 0.001}, "AutoGluon's GBMLarge"),
        ("wide", {"learning_rate": 0.1, "num_leaves": 128, "min_child_samples": 10, "subsample": 0.8,
                  "colsample_bytree": 0.8, "reg_lambda": 1.0}, "more leaves at the library's rate"),
        ("widest", {"learning_rate": 0.08, "num_leaves": 255, "min_child_samples": 5, "subsample": 0.8,
                    "colsample_bytree": 0.7, "reg_lambda": 2.0}, "the space's largest trees"),
        ("shallow", {"learning_rate": 0.1, "num_leaves": 8, "min_child_samples": 20, "subsample": 0.8,
                     "colsample_bytree": 0.8, "reg_lambda": 1.0}, "small trees (FLAML starts small)"),
        ("small_reg", {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 30, "subsample": 0.8,
                       "colsample_bytree": 0.6, "reg_lambda": 5.0}, "regularised, for small tables"),
        ("cols_half", {"learning_rate": 0.05, "num_leaves": 31, "min_child_samples": 15, "subsample": 0.7,
                       "colsample_bytree": 0.5, "reg_lambda": 1.0}, "feature bagging as in TabRepo's LightGBM configs"),
    ],
    "xgboost": [
        ("library", {"learning_rate": 0.3, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0,
                     "colsample_bytree": 1.0, "reg_lambda": 1.0}, "XGBoost's own defaults"),
        ("wave1", {"learning_rate": 0.05, "max_depth": 8, "min_child_weight": 1.0, "subsample": 0.8,
                   "colsample_bytree": 0.8, "reg_lambda": 1.0}, "automl's wave-1 second default"),
        ("ag_default", {"learning_rate": 0.1, "max_depth": 6, "min_child_weight": 1.0, "subsample": 1.0,
                        "colsample_bytree": 1.0, "reg_lambda": 1.0}, "AutoGluon's XGBoost default (rate 0.1)"),
        ("deep", {"learning_rate": 0.1, "max_depth": 10, "min_child_weight": 2.0, "subsample": 0.8,
                  "colsample_bytree": 0.7, "reg_lambda": 2.0}, "deeper trees"),
        ("shallow", {"learning_rate": 0.1, "max_depth": 3, "min_child_weight": 1.0, "subsample": 0.8,
                     "colsample_bytree": 0.8, "reg_lambda": 1.0}, "depth 3"),
        ("small_reg", {"learning_rate": 0.05, "max_depth": 4, "min_child_weight": 5.0, "subsample": 0.8,
                       "colsample_bytree": 0.6, "reg_lambda": 5.0}, "regularised, for small tables"),
    ],
    "hist_gradient_boosting": [
        ("library", {"learning_rate": 0.1, "max_leaf_nodes": 31, "min_samples_leaf": 20, "l2_regularization": 0.0},
         "scikit-learn's own defaults"),
        ("wave1", {"learning_rate": 0.05, "max_leaf_nodes": 63, "min_samples_leaf": 10, "l2_regularization": 1.0},
         "automl's wave-1 second default"),
        ("widest", {"learning_rate": 0.08, "max_leaf_nodes": 255, "min_samples_leaf": 5, "l2_regularization": 2.0},
         "the space's largest trees"),
        ("shallow", {"learning_rate": 0.1, "max_leaf_nodes": 8, "min_samples_leaf": 20, "l2_regularization": 1.0},
         "small trees"),
        ("small_reg", {"learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 30, "l2_regularization": 5.0},
         "regularised, for small tables"),
    ],
}


def _args(argv):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--datasets", type=Path, required=True, help="folder with manifest.json")
    p.add_argument("--family", required=True, choices=sorted(CANDIDATES))
    p.add_argument("--names", nargs="*", help="datasets (default: all of the manifest)")
    p.add_argument("--inner-seeds", type=int, nargs="*", default=[0], help="seeds of the 80/20 inner split")
    p.add_argument("--high", type=int, help="the most rounds (default: the family's fidelity; the rungs scale with it)")
    p.add_argument("--n-jobs", type=int, default=2)
    p.add_argument("--raw", type=Path, help="report on the scores of an earlier run (its .csv) instead of fitting")
    p.add_argument("--out", type=Path, help="write the Markdown report here (and the raw scores beside it, .csv)")
    return p.parse_args(argv)


def _staged(model, X, task: str, rounds: list[int]):
    """Predictions after each of ``rounds`` boosting rounds (LightGBM, XGBoost, HistGradientBoosting)."""
    proba = task != "regression"
    name = type(model).__module__
    if name.startswith("lightgbm"):
        call = model.predict_proba if proba else model.predict
        return [call(X, num_iteration=r) for r in rounds]
    if name.startswith("xgboost"):
        call = model.predict_proba if proba else model.predict
        return [call(X, iteration_range=(0, r)) for r in rounds]
    staged = list(model.staged_predict_proba(X) if proba else model.staged_predict(X))
    return [staged[min(r, len(staged)) - 1] for r in rounds]


def evaluate(entry: dict, folder: Path, family: str, seed: int, n_jobs: int, high: int | None = None) -> list[dict]:
    """Every candidate of ``family`` on one dataset's inner split: one row per candidate."""
    from sklearn.model_selection import train_test_split

    from automl import BuildContext, Task
    from automl.data.profile import profile_frame
    from automl.preprocessing.columns import build_preprocessor
    from automl.registry import discover
    from automl.search.fidelity import rung_resources
    from benchmarks import scoring
    from benchmarks.worker import split

    task, target = entry["task"], entry["target"]
    train, _ = split(entry, str(folder), 0)  # the benchmark's 25% test rows are never read again
    fit, val = train_test_split(train, test_size=0.2, random_state=seed,
                                stratify=train[target] if task != "regression" else None)
    X, Xv = fit.drop(columns=target), val.drop(columns=target)
    if task == "regression":
        y, yv, n_classes = fit[target].to_numpy(float), val[target].to_numpy(float), 0
    else:
        classes = np.unique(train[target])
        y, yv, n_classes = np.searchsorted(classes, fit[target]), np.searchsorted(classes, val[target]), len(classes)
    spec = discover().specs[family]
    prep = build_preprocessor(profile_frame(X, n_classes), spec, Task(task))
    F, Fv = prep.fit_transform(X, y), prep.transform(Xv)
    fidelity = spec.fidelity if high is None else dataclasses.replace(spec.fidelity, high=high)
    rounds = [int(r) for r in rung_resources(fidelity, 3, 3)]
    metric = scoring.PRIMARY[task]
    constant = scoring.constant_score(task, y, yv, n_classes)
    rows = []
    for name, params, _ in CANDIDATES[family]:
        model = spec.build({**params, fidelity.param: rounds[-1]}, BuildContext(task=Task(task), random_state=0, n_jobs=n_jobs,
                                                      n_classes=n_classes))
        start = time.perf_counter()
        model.fit(F, y)
        seconds = time.perf_counter() - start
        scores = [scoring.metrics(task, yv, p)[metric] for p in _staged(model, Fv, task, rounds)]
        best = int(np.argmin(scores) if metric in scoring.LOWER_IS_BETTER else np.argmax(scores))
        rows.append({"dataset": entry["name"], "seed": seed, "candidate": name, "metric": metric,
                     "score": scores[best], "rounds": rounds[best], "constant": constant, "fit_s": seconds})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    return rows


def normalised(raw: pd.DataFrame) -> pd.DataFrame:
    """candidate x dataset: 0 = the worst candidate, 1 = the best (averaged over inner seeds).

    Scaled between the candidates, not from the constant predictor as the benchmark is: from the
    constant, a dataset with little headroom over it (blood_transfusion's AUC of 0.7, its 112
    validation rows) weighs most and mostly adds its noise, and a tenfold log loss near 0 (car)
    weighs almost nothing; a first portfolio chosen that way lost car at 60 s
    (``results/wave2h_60s_60s.md``)."""
    def one(group):
        value = group["score"] * (-1.0 if group["metric"].iloc[0] in LOWER_IS_BETTER else 1.0)
        spread = value.max() - value.min()
        return (value - value.min()) / spread if spread > 0 else value * 0 + 1.0
    raw = raw.assign(norm=raw.groupby(["dataset", "seed"], group_keys=False).apply(one, include_groups=False))
    return raw.pivot_table(index="candidate", columns="dataset", values="norm", aggfunc="mean")


def greedy(norm: pd.DataFrame) -> list[tuple[str, float]]:
    """Candidates in portfolio order with the mean of the per-dataset best each prefix reaches."""
    chosen, order, best = [], [], None
    while len(chosen) < len(norm):
        left = [c for c in norm.index if c not in chosen]
        reach = {c: (norm.loc[c] if best is None else np.maximum(best, norm.loc[c])).mean() for c in left}
        pick = max(reach, key=reach.get)
        chosen.append(pick)
        best = norm.loc[pick] if best is None else np.maximum(best, norm.loc[pick])
        order.append((pick, float(reach[pick])))
    return order


def _order_table(norm: pd.DataFrame, fit_s: pd.Series, family: str) -> list[str]:
    sources = {name: source for name, _, source in CANDIDATES[family]}
    params = {name: p for name, p, _ in CANDIDATES[family]}
    lines = ["| order | candidate | mean normalised alone | mean of the best so far | median fit s | source | parameters |",
             "|---|---|---|---|---|---|---|"]
    for i, (name, reach) in enumerate(greedy(norm), 1):
        lines.append(f"| {i} | {name} | {norm.loc[name].mean():.4f} | {reach:.4f} | {fit_s[name]:.2f} | "
                     f"{sources[name]} | `{params[name]}` |")
    return lines


def report(raw: pd.DataFrame, family: str, train_rows: dict[str, int], header: str) -> str:
    """The portfolio over all datasets, then per table size (the search's training rows below
    or from ``LARGE_TABLE_ROWS``: the rule of the built-in boosters' ``portfolio``)."""
    from automl_plugins._common import LARGE_TABLE_ROWS
    from benchmarks.holdout import markdown_table

    norm = normalised(raw)
    fit_s = raw.groupby("candidate")["fit_s"].median()
    large = [d for d in norm.columns if train_rows[d] >= LARGE_TABLE_ROWS]
    small = [d for d in norm.columns if d not in large]
    lines = [f"# Portfolio of `{family}` defaults on the shared datasets' training rows", "", header, "",
             "## All datasets", ""] + _order_table(norm, fit_s, family)
    for label, names in ((f"under {LARGE_TABLE_ROWS:,}", small), (f"{LARGE_TABLE_ROWS:,} or more", large)):
        if names:
            lines += ["", f"## Tables of {label} training rows ({', '.join(names)})", ""]
            lines += _order_table(norm[names], fit_s, family)
    lines += ["", "Normalised score per dataset (0 = the worst candidate there, 1 = the best):", "",
              markdown_table(norm.T.round(3).reset_index())]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    import platform
    import subprocess

    args = _args(argv)
    manifest = json.loads((args.datasets / "manifest.json").read_text())
    entries = [e for e in manifest if not args.names or e["name"] in args.names]
    if args.raw:
        raw = pd.read_csv(args.raw)
    else:
        raw = pd.DataFrame([r for e in entries for s in args.inner_seeds
                            for r in evaluate(e, args.datasets, args.family, s, args.n_jobs, args.high)])
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
    header = (f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {platform.processor() or platform.machine()}, "
              f"n_jobs={args.n_jobs}; commit {commit or 'unknown'}; `python -m benchmarks.portfolio --family "
              f"{args.family}{f' --high {args.high}' if args.high else ''} --inner-seeds "
              f"{' '.join(map(str, args.inner_seeds))}`; {raw['dataset'].nunique()} datasets; protocol in the "
              "module's docstring (the benchmark's test rows are not used).")
    # the search's training rows in the benchmark: the 75% of the protocol's split
    text = report(raw, args.family, {e["name"]: int(0.75 * e["rows"]) for e in manifest}, header)
    print(text)
    if args.out:
        args.out.write_text(text)
        if not args.raw:
            raw.to_csv(args.out.with_suffix(".csv"), index=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
