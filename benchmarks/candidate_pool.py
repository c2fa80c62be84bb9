"""The same search, its final model assembled with two sizes of candidate pool
(``ensemble.max_candidates``): a paired comparison that the search's timing cannot blur.

    python -m benchmarks.candidate_pool --datasets ../shared/datasets --seeds 0 1 \\
        --names vehicle kc1 caravan --small 8 --large 12 --budget 60

Each dataset is split as in ``benchmarks.run`` (75/25, ``random_state=0``, stratified for
classification), fitted once with ``time_budget``, and its final model assembled twice from
the same finished trials, the second time with the clock set back to where the first began;
both are scored on the test rows (ROC AUC, log loss or R²). One line per dataset and seed
on stdout; the fit's log on stderr.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from sklearn.metrics import log_loss, r2_score, roc_auc_score

import automl.estimator as estimator
import automl.final.assemble as assemble_module
from automl import AutoML
from benchmarks.worker import split


def holdout_score(task: str, aml: AutoML, X, y) -> float:
    if task == "regression":
        return float(r2_score(y, aml.predict(X)))
    proba = aml.predict_proba(X)
    if task == "binary":
        return float(roc_auc_score(y == aml.classes_[1], proba[:, 1]))
    return float(log_loss(y, proba, labels=aml.classes_))


def paired_fit(entry: dict, folder: Path, seed: int, budget: float, small: int, large: int) -> str:
    """One fit of ``entry``, assembled with ``small`` then ``large`` candidates: a result line."""
    original, sizes, kept = estimator.assemble, {}, {}

    def twice(study, data, specs, objective, clock, *args, **kwargs):
        start = clock.elapsed()
        for n in (small, large):
            clock.start = clock.clock() - start  # the same time left for each assembly
            sizes["n"] = n
            kept[n] = original(study, data, specs, objective, clock, *args, **kwargs)
        return kept[large]

    pick = assemble_module.max_candidates
    estimator.assemble, assemble_module.max_candidates = twice, lambda total: sizes["n"]
    try:
        train, test = split(entry, str(folder), 0)
        target = entry["target"]
        aml = AutoML(time_budget=budget, seed=seed, verbose=0).fit(train, target)
    finally:
        estimator.assemble, assemble_module.max_candidates = original, pick
    X, y = test.drop(columns=[target]), test[target].to_numpy()
    scores, reports = {}, {}
    for n in (large, small):  # the fitted AutoML holds the large pool's model first
        final = kept[n]
        aml.best_model_, aml.best_model_name_, aml.best_trial_ = final.pipeline, final.model, final.trial
        aml.ensemble_ = final.ensemble
        scores[n], reports[n] = holdout_score(entry["task"], aml, X, y), final.ensemble.report.split(";")[0]
    sign = -1 if entry["task"] == "multiclass" else 1  # log loss: lower is better
    return (f"| {entry['name']} | {seed} | {scores[small]:.5f} | {scores[large]:.5f} | "
            f"{sign * (scores[large] - scores[small]):+.5f} | {reports[small]} | {reports[large]} |")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", type=Path, required=True, help="folder with manifest.json")
    p.add_argument("--names", nargs="+", required=True, help="datasets of the manifest")
    p.add_argument("--seeds", nargs="+", type=int, default=[0], help="AutoML seeds (the split is seed 0's)")
    p.add_argument("--budget", type=float, default=60.0, help="time_budget of each fit (default 60)")
    p.add_argument("--small", type=int, default=8, help="the first pool's size (default 8)")
    p.add_argument("--large", type=int, default=12, help="the second pool's size (default 12)")
    args = p.parse_args(argv)
    manifest = {e["name"]: e for e in json.loads((args.datasets / "manifest.json").read_text())}
    print(f"| dataset | seed | {args.small} candidates | {args.large} candidates | gain of {args.large} "
          f"| final model ({args.small}) | final model ({args.large}) |")
    print("|---|---|---|---|---|---|---|")
    for seed in args.seeds:
        for name in args.names:
            print(paired_fit(manifest[name], args.datasets, seed, args.budget, args.small, args.large), flush=True)


if __name__ == "__main__":
    main()
