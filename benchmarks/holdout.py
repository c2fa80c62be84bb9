"""Holdout check of AutoML against a default HistGradientBoosting on shared datasets.

    python -m benchmarks.holdout --datasets ../shared/datasets --budget 30 \
        --names california_housing credit_g vehicle adult --out benchmarks/results/core_30s.md

Protocol (as in shared/benchmarks/PEERS.md): 75/25 split with random_state=SEED (``--seed``,
default 0; AutoML gets the same seed), stratified for classification; each system fits on the 75%. Scores are the task's default metric
(ROC AUC, log loss, RMSE) plus R² for regression, and a constant predictor's score
(training mean or class priors). Also checks that a save/load round
trip predicts identically. Runs each dataset in its own process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import log_loss, r2_score, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split

from benchmarks.systems import NativeCategoricals


def _metrics(task, y_true, proba_or_pred, classes):
    if task == "binary":
        return {"roc_auc": roc_auc_score(y_true == classes[1], proba_or_pred[:, 1])}
    if task == "multiclass":
        return {"log_loss": log_loss(y_true, proba_or_pred, labels=classes)}
    return {"rmse": root_mean_squared_error(y_true, proba_or_pred), "r2": r2_score(y_true, proba_or_pred)}


def _hgb(task, train, test, target):
    """Default HistGradientBoosting, categoricals as in the peers' runner (``systems``)."""
    enc = NativeCategoricals().fit(train.drop(columns=target))
    X, Xt = enc.transform(train.drop(columns=target)), enc.transform(test.drop(columns=target))
    mask = [c in enc.native for c in enc.columns]
    if task == "regression":
        model = HistGradientBoostingRegressor(categorical_features=mask, random_state=0).fit(X, train[target])
        return _metrics(task, test[target].to_numpy(), model.predict(Xt), None)
    model = HistGradientBoostingClassifier(categorical_features=mask, random_state=0).fit(X, train[target])
    return _metrics(task, test[target].to_numpy(), model.predict_proba(Xt), model.classes_)


def _constant(task, train, test, target):
    """A constant predictor: the training mean (regression) or class priors."""
    y = train[target]
    if task == "regression":
        return _metrics(task, test[target].to_numpy(), np.full(len(test), y.mean()), None)
    priors = y.value_counts(normalize=True).sort_index()
    return _metrics(task, test[target].to_numpy(), np.tile(priors.to_numpy(), (len(test), 1)), priors.index.to_numpy())


def run_one(entry: dict, folder: Path, budget: float, halving: bool, queue, seed: int = 0) -> None:
    from automl import AutoML

    df = pd.read_csv(folder / entry["file"])
    target, task = entry["target"], entry["task"]
    stratify = df[target] if task != "regression" else None
    train, test = train_test_split(df, test_size=0.25, random_state=seed, stratify=stratify)
    row = {"dataset": entry["name"], "task": task, "halving": halving, "budget": budget, "seed": seed}
    start = time.perf_counter()
    aml = AutoML(time_budget=budget, seed=seed, verbose=0, halving=halving).fit(train, target)
    row["fit_s"] = round(time.perf_counter() - start, 2)
    if task == "regression":
        ours = _metrics(task, test[target].to_numpy(), aml.predict(test), None)
    else:
        ours = _metrics(task, test[target].to_numpy(), aml.predict_proba(test), aml.classes_)
    hgb = _hgb(task, train, test, target)
    key = next(iter(ours))
    row.update({"metric": key, "automl": ours[key], "hgb": hgb[key], "best_model": aml.best_model_name_,
                "constant": _constant(task, train, test, target)[key]})
    board = aml.leaderboard()
    row["cv_score"] = aml.best_score_
    row["n_trials"] = len(board)
    row["n_full"] = int((board["status"] == "ok").sum())
    row["per_rung"] = {int(k): int(v) for k, v in board["rung"].dropna().value_counts().sort_index().items()}
    row["families_full"] = sorted(set(board.loc[board["status"] == "ok", "model"]))
    row["n_pruned"] = int(board["pruned"].sum())
    row["models_tried"] = sorted(set(board["model"].dropna()))
    with tempfile.TemporaryDirectory() as tmp:
        aml.save(Path(tmp) / "m.automl")
        again = AutoML.load(Path(tmp) / "m.automl")
        row["save_load_identical"] = bool(np.array_equal(np.asarray(again.predict(test)), np.asarray(aml.predict(test))))
    row["skipped"] = aml.skipped_models_
    row["timings"] = aml.timings_
    queue.put(row)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, required=True, help="folder with manifest.json")
    parser.add_argument("--budget", type=float, default=30)
    parser.add_argument("--names", nargs="*", help="dataset names (default: all in the manifest)")
    parser.add_argument("--halving", choices=["on", "off", "both"], default="on")
    parser.add_argument("--seed", type=int, default=0, help="the split's and AutoML's seed (default 0)")
    parser.add_argument("--out", type=Path, help="write a Markdown table here (and .json beside it)")
    args = parser.parse_args(argv)
    manifest = json.loads((args.datasets / "manifest.json").read_text())
    entries = [e for e in manifest if not args.names or e["name"] in args.names]
    rows = []
    ctx = mp.get_context("spawn")
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.halving]
    for entry, halving in [(e, h) for e in entries for h in modes]:
        queue = ctx.Queue()
        proc = ctx.Process(target=run_one, args=(entry, args.datasets, args.budget, halving, queue, args.seed))
        proc.start()
        proc.join()
        row = queue.get() if not queue.empty() else {"dataset": entry["name"], "error": f"exit {proc.exitcode}"}
        print(json.dumps(row, default=str), flush=True)
        rows.append(row)
    table = pd.DataFrame(rows)
    lower_is_better = table["metric"].isin(["log_loss", "rmse"])
    rel = np.where(lower_is_better, table["hgb"] / table["automl"], table["automl"] / table["hgb"])
    table["vs_hgb"] = np.round(rel, 4)
    table["beats_constant"] = np.where(lower_is_better, table["automl"] < table["constant"],
                                       table["automl"] > table["constant"])
    cols = ["dataset", "halving", "metric", "automl", "hgb", "constant", "beats_constant", "vs_hgb", "cv_score",
            "fit_s", "best_model", "n_trials", "n_full", "per_rung", "save_load_identical"]
    md = markdown_table(table[cols])
    print(md)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"budget {args.budget:g} s\n\n{md}\n")
        args.out.with_suffix(".json").write_text(json.dumps(rows, indent=1, default=str))


def markdown_table(frame: pd.DataFrame) -> str:
    def cell(v):
        return f"{v:.4f}" if isinstance(v, float) else str(v)

    lines = ["| " + " | ".join(frame.columns) + " |", "|" + "---|" * len(frame.columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
