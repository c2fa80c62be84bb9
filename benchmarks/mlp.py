"""Holdout check of the PyTorch MLP plugin alone against a default HistGradientBoosting.

    nice -n 10 python -m benchmarks.mlp --datasets ../shared/datasets --out benchmarks/results/mlp_cpu.md

Protocol (as in ``benchmarks/holdout.py``): 75/25 split with random_state=0, stratified
for classification; each model fits on the 75%. The MLP is the spec's first default
configuration at full fidelity behind the core's preprocessing (one-hot, imputation,
standardisation); HistGradientBoosting gets pandas categoricals natively. Throughput is
rows given to ``fit`` x epochs trained / seconds of the model's ``fit`` (preprocessing
excluded; each epoch also scores the internal validation rows). With ``--automl-budget``
the acceptance run ``AutoML(models=["mlp"], time_budget=..., seed=0)`` is scored too.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import accuracy_score, log_loss, r2_score, roc_auc_score, root_mean_squared_error
from sklearn.model_selection import train_test_split
from threadpoolctl import threadpool_limits

from automl import AutoML, BuildContext, Task
from automl.preprocessing.pipeline import build_pipeline
from automl.data.profile import profile_frame
from automl_plugins.mlp_estimator import resolve_device
from automl_plugins.torch_mlp import MLP
from benchmarks.holdout import markdown_table

NAMES = ("phoneme", "letter", "california_housing")


def scores(task: Task, y_true, out, classes) -> dict:
    """Binary: ROC AUC; multiclass: accuracy and log loss; regression: RMSE and R²."""
    if task is Task.BINARY:
        return {"roc_auc": roc_auc_score(y_true == classes[1], out[:, 1])}
    if task is Task.MULTICLASS:
        return {"accuracy": accuracy_score(y_true, classes[out.argmax(axis=1)]),
                "log_loss": log_loss(y_true, out, labels=classes)}
    return {"rmse": root_mean_squared_error(y_true, out), "r2": r2_score(y_true, out)}


def predict(model, task: Task, X):
    return model.predict(X) if task is Task.REGRESSION else np.asarray(model.predict_proba(X))


def run_mlp(task, X, y, Xt, yt, device, n_jobs) -> dict:
    classes = np.unique(y) if task.is_classification else None
    target = np.searchsorted(classes, y) if task.is_classification else y.to_numpy(dtype=float)
    profile = profile_frame(X, n_classes=len(classes) if task.is_classification else 0)
    ctx = BuildContext(task=task, random_state=0, n_jobs=n_jobs, device=device)
    pipe = build_pipeline(MLP, MLP.default_params[0], profile, ctx)
    prep, model = pipe.named_steps["prep"], pipe.named_steps["model"]
    with threadpool_limits(n_jobs):
        features = prep.fit_transform(X, target)
        start = time.perf_counter()
        model.fit(features, target)
        seconds = time.perf_counter() - start
        out = predict(pipe, task, Xt)
    return {
        **scores(task, yt.to_numpy(), out, classes), "fit_s": seconds, "epochs": model.n_epochs_,
        "best_epoch": model.best_epoch_, "rows_epochs_per_s": len(features) * model.n_epochs_ / seconds,
    }


def run_hgb(task, X, y, Xt, yt) -> dict:
    X, Xt = X.copy(), Xt.copy()
    for col in X.columns[~X.dtypes.map(pd.api.types.is_numeric_dtype)]:
        X[col] = X[col].astype("category")
        Xt[col] = pd.Categorical(Xt[col], categories=X[col].cat.categories)
    cls = HistGradientBoostingRegressor if task is Task.REGRESSION else HistGradientBoostingClassifier
    start = time.perf_counter()
    model = cls(categorical_features="from_dtype", random_state=0).fit(X, y)
    seconds = time.perf_counter() - start
    return {**scores(task, yt.to_numpy(), predict(model, task, Xt), getattr(model, "classes_", None)),
            "fit_s": seconds}


def run_automl(task, train, test, target, budget) -> dict:
    start = time.perf_counter()
    aml = AutoML(models=["mlp"], time_budget=budget, seed=0, verbose=0).fit(train, target)
    seconds = time.perf_counter() - start
    out = predict(aml, task, test)
    return {**scores(task, test[target].to_numpy(), out, aml.classes_ if task.is_classification else None),
            "fit_s": seconds}


def device_name(device: str) -> str:
    dev = resolve_device(device)
    if dev.type == "cuda":
        return torch.cuda.get_device_name(dev)
    cpuinfo = Path("/proc/cpuinfo")
    lines = cpuinfo.read_text().splitlines() if cpuinfo.exists() else []
    model = next((line.split(":", 1)[1].strip() for line in lines if line.startswith("model name")), "")
    return f"CPU {model or platform.processor() or platform.machine()} ({os.cpu_count()} logical cores)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--datasets", type=Path, required=True, help="folder with manifest.json")
    parser.add_argument("--names", nargs="*", default=list(NAMES))
    parser.add_argument("--device", default="cpu", help="auto, cpu or cuda")
    parser.add_argument("--n-jobs", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--automl-budget", type=float, default=60, help="0: skip the AutoML run")
    parser.add_argument("--out", type=Path, help="write the Markdown table here")
    args = parser.parse_args(argv)
    manifest = {e["name"]: e for e in json.loads((args.datasets / "manifest.json").read_text())}
    rows, load = [], os.getloadavg()[0]
    for name in args.names:
        entry = manifest[name]
        task, target = Task(entry["task"]), entry["target"]
        df = pd.read_csv(args.datasets / entry["file"])
        train, test = train_test_split(df, test_size=0.25, random_state=0,
                                       stratify=df[target] if task.is_classification else None)
        X, y, Xt, yt = train.drop(columns=target), train[target], test.drop(columns=target), test[target]
        mlp = run_mlp(task, X, y, Xt, yt, args.device, args.n_jobs)
        with threadpool_limits(args.n_jobs):
            hgb = run_hgb(task, X, y, Xt, yt)
        runs = {"mlp": mlp, "hgb": hgb}
        if args.automl_budget:
            runs["automl"] = run_automl(task, train, test, target, args.automl_budget)
        for metric in [k for k in hgb if k != "fit_s"]:
            row = {"dataset": name, "task": task.value, "train_rows": len(train), "metric": metric}
            row.update({k: v[metric] for k, v in runs.items()})
            row.update({f"{k}_fit_s": f"{v['fit_s']:.1f}" for k, v in runs.items()})
            row.update({"epochs": f"{mlp['best_epoch']}/{mlp['epochs']}",
                        "rows_epochs_per_s": int(mlp["rows_epochs_per_s"])})
            rows.append(row)
            print(json.dumps(row), flush=True)
    table = pd.DataFrame(rows)
    device = device_name(args.device)
    header = (f"device: {device}; load average {load:.1f} at the start (other work slows the timings); "
              f"torch {torch.__version__}, n_jobs={args.n_jobs}; MLP = first default of "
              f"the `mlp` spec, max_epochs={int(MLP.fidelity.high)}; epochs = best/trained"
              + (f"; automl = AutoML(models=['mlp'], time_budget={args.automl_budget:g}, seed=0)"
                 if args.automl_budget else ""))
    md = markdown_table(table)
    print(header + "\n\n" + md)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(f"{header}\n\n{md}\n")


if __name__ == "__main__":
    main()
