"""Does training the MLP through halving's rungs give a different model than one fit?

    python -m benchmarks.mlp_rungs --datasets ../shared/datasets --name vehicle --seeds 4

For a numeric dataset of the manifest: the 75/25 split of ``holdout.py`` (``random_state=0``),
standardised features, the MLP's first default configuration trained (a) in one fit of
60 epochs and (b) through the rungs 8 -> 20 -> 60 epochs with warm starts, as the search
does. Prints, per network seed and on average, the 5-fold CV score on the training part
and the holdout score of the model fitted on all of it (log loss, or RMSE for regression).
"""

from __future__ import annotations

import argparse
import json
import warnings
from pathlib import Path

import pandas as pd
from sklearn.metrics import log_loss, root_mean_squared_error
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split
from sklearn.preprocessing import StandardScaler

from automl.search.fidelity import DEFAULT_RUNGS, rung_resources
from automl_plugins.mlp_estimator import TorchMLPClassifier, TorchMLPRegressor
from automl_plugins.torch_mlp import MLP

#: The search's epochs per rung for the MLP (default rungs, eta 3): 8, 20, 60.
RUNGS = [int(r) for r in rung_resources(MLP.fidelity, DEFAULT_RUNGS, eta=3)]


def _train(X, y, seed: int, through_rungs: bool, regression: bool):
    scaler = StandardScaler().fit(X)
    X = scaler.transform(X)
    cls = TorchMLPRegressor if regression else TorchMLPClassifier
    model = cls(**MLP.default_params[0], random_state=seed, device="cpu", n_jobs=1)
    for epochs in RUNGS if through_rungs else RUNGS[-1:]:
        model.set_params(max_epochs=epochs, warm_start=True).fit(X, y)
    return scaler, model


def _score(model, scaler, X, y, regression: bool) -> float:
    if regression:
        return root_mean_squared_error(y, model.predict(scaler.transform(X)))
    return log_loss(y, model.predict_proba(scaler.transform(X)), labels=model.classes_)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, required=True, help="folder with manifest.json and the CSV files")
    parser.add_argument("--name", default="vehicle", help="dataset name in the manifest (numeric features only)")
    parser.add_argument("--seeds", type=int, default=4, help="network seeds (0 .. SEEDS-1)")
    args = parser.parse_args(argv)
    warnings.filterwarnings("ignore")
    entry = next(e for e in json.loads((args.datasets / "manifest.json").read_text())
                 if e["name"] == args.name)
    df = pd.read_csv(args.datasets / entry["file"])
    target, regression = entry["target"], entry["task"] == "regression"
    train, test = train_test_split(df, test_size=0.25, random_state=0, stratify=None if regression else df[target])
    X, y = train.drop(columns=target).to_numpy(float), train[target].to_numpy()
    Xt, yt = test.drop(columns=target).to_numpy(float), test[target].to_numpy()
    rows = []
    for through_rungs in (False, True):
        for seed in range(args.seeds):
            folds = (KFold if regression else StratifiedKFold)(5, shuffle=True, random_state=seed)
            cv = []
            for a, b in folds.split(X, y):
                scaler, model = _train(X[a], y[a], seed, through_rungs, regression)
                cv.append(_score(model, scaler, X[b], y[b], regression) * len(b))
            scaler, model = _train(X, y, seed, through_rungs, regression)
            rows.append({"training": "rungs " + "-".join(map(str, RUNGS)) if through_rungs else f"one fit of {RUNGS[-1]}", "seed": seed,
                         "cv": sum(cv) / len(y), "holdout": _score(model, scaler, Xt, yt, regression),
                         "epochs": model.n_epochs_, "best_epoch": model.best_epoch_})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    print(table.groupby("training")[["cv", "holdout"]].agg(["mean", "std"]).round(4).to_string())


if __name__ == "__main__":
    main()
