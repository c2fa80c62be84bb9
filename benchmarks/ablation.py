"""Ablation of issue 23's items: automl with one of them (or all) switched off, against the full system.

    python -m benchmarks.run --systems automl automl-no-portfolio automl-no-repeats \\
        automl-no-catboost automl-no-target-encoding automl-no-calibration automl-no-items --names ... \\
        --prefix ablation
    python -m benchmarks.ablation benchmarks/results/ablation_60s.csv [--out F.md]

Each ``automl-no-*`` system is ``automl`` with one item off (``automl-no-items``: all of them):

* ``portfolio`` (item 1): each model tries only its first default configuration before the
  search, not the rest of its portfolio (``ModelSpec.defaults`` cut to one, in the worker
  process only: there is no setting for it);
* ``repeats`` (item 2): ``cv_repeats=1``: the folds of small tables are not repeated, so no
  model is bagged (its repeated folds' models averaged) either;
* ``catboost`` (item 3): ``exclude_models=["catboost"]``;
* ``target-encoding`` (item 4): no out-of-fold target encodings for the boosters
  (``columns.target_encoded`` returns none, in the worker process only);
* ``calibration`` (item 5): ``calibration=None``;
* ``items``: all five off together, for what the items cost in memory and give in accuracy
  together (the rest of today's code, the MLP's changes and the ensemble's among them, stays).

Item 6 (more budget, better model) is not a switch: ``wave2x300_300s.md`` measures it. The
table gives, per dataset, the full system's primary score minus each ablation's (signed so
that a positive number means the item helps), and for binary tables the same on the holdout
log loss (which calibration targets). With ``--datasets``, a difference where the item cannot
act by construction (target encodings without categorical columns, repeats on a table whose
folds are not repeated, calibration of a regression) is shown in parentheses: it is the
run-to-run noise of a 60 s search (timings decide which trials run), the floor the other
differences must clear.
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import pandas as pd

#: system name -> (issue 23 item, what is switched off, AutoML settings, patch applied in the worker)
ABLATIONS = {
    "automl-no-portfolio": (1, "each model tries its first default only, not the rest of its portfolio", {},
                            "first_default_only"),
    "automl-no-repeats": (2, "cv_repeats=1 (no repeated folds, no bagging)", {"cv_repeats": 1}, None),
    "automl-no-catboost": (3, "exclude_models=['catboost']", {"exclude_models": ["catboost"]}, None),
    "automl-no-target-encoding": (4, "no target encodings for the boosters", {}, "no_target_encoding"),
    "automl-no-calibration": (5, "calibration=None", {"calibration": None}, None),
}
ABLATIONS["automl-no-items"] = ("1-5", "all five off together",
                                {k: v for _, _, settings, _ in ABLATIONS.values() for k, v in settings.items()},
                                "no_items")
LOWER_IS_BETTER = {"log_loss", "rmse"}


def first_default_only() -> None:
    """Every model's defaults cut to its first configuration (this process only)."""
    from automl.spec import ModelSpec

    full = ModelSpec.defaults
    ModelSpec.defaults = lambda self, profile: full(self, profile)[:1]


def no_target_encoding() -> None:
    """No model gets target encodings (this process only)."""
    from automl.preprocessing import columns
    from automl.search import prepared

    columns.target_encoded = prepared.target_encoded = lambda profile, spec, task: []


def no_items() -> None:
    """Both patches above: first defaults only and no target encodings (this process only)."""
    first_default_only()
    no_target_encoding()


def _fit(settings: dict, patch: str | None, X, y, task, budget, seed, n_jobs):
    from benchmarks.systems import fit_automl

    if patch is not None:
        globals()[patch]()
    return fit_automl(X, y, task, budget, seed, n_jobs, **settings)


SYSTEMS = {name: functools.partial(_fit, settings, patch) for name, (_, _, settings, patch) in ABLATIONS.items()}


def inert(datasets: Path, budget: float) -> dict[str, set[str]]:
    """Per dataset of ``datasets``' manifest, the ablations whose item cannot act there by
    construction (on the benchmark's training split of seed 0)."""
    import json

    from automl.data.profile import profile_frame
    from automl.data.task import Task
    from automl.preprocessing.columns import target_encoded
    from automl.registry import discover
    from automl.search.cv import auto_folds, auto_repeats
    from benchmarks.worker import split

    lightgbm = discover().specs["lightgbm"]
    out = {}
    for entry in json.loads((datasets / "manifest.json").read_text()):
        train, _ = split(entry, str(datasets), 0)
        task = Task(entry["task"])
        n_classes = 0 if task is Task.REGRESSION else train[entry["target"]].nunique()
        profile = profile_frame(train.drop(columns=entry["target"]), n_classes)
        rows = len(train)
        out[entry["name"]] = {name for name, dead in [
            ("automl-no-repeats", auto_repeats(rows, auto_folds(rows, budget, task is Task.MULTICLASS), budget) < 2),
            ("automl-no-target-encoding", not target_encoded(profile, lightgbm, task)),
            ("automl-no-calibration", task is Task.REGRESSION)] if dead}
    return out


def table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset and seed, the full system's score minus each ablation's, signed so that
    positive means the item helps; ``<name> log_loss`` the same on binary tables' log loss."""
    ok = frame[frame["status"] == "ok"]
    full = ok[ok["system"] == "automl"].set_index(["dataset", "seed"])
    rows = []
    for (dataset, seed), base in full.iterrows():
        row = {"dataset": dataset, "seed": seed, "metric": base["metric"], "automl": base["score"]}
        sign = 1 if base["metric"] in LOWER_IS_BETTER else -1
        for name in ABLATIONS:
            other = ok[(ok["system"] == name) & (ok["dataset"] == dataset) & (ok["seed"] == seed)]
            if len(other):
                row[name] = sign * (other["score"].iloc[0] - base["score"])
                if base["task"] == "binary":
                    row[f"{name} log_loss"] = other["log_loss"].iloc[0] - base["log_loss"]
        rows.append(row)
    return pd.DataFrame(rows)


def _cell(value, dead: bool) -> str:
    if pd.isna(value):
        return ""
    text = "0" if round(value, 4) == 0 else f"{value:+.4f}"
    return f"({text})" if dead else text


def markdown(diffs: pd.DataFrame, source: str, dead: dict[str, set[str]] | None = None) -> str:
    dead = dead or {}
    short = {name: name.removeprefix("automl-no-") for name in ABLATIONS}
    names = [n for n in ABLATIONS if n in diffs]
    lines = [f"Ablation of issue 23's items from `{source}`: each column is the full system's holdout score "
             "minus that of automl with the item switched off (positive: the item helps; log loss and RMSE "
             "signed so). Items: " + "; ".join(f"{short[n]} = item {ABLATIONS[n][0]} ({ABLATIONS[n][1]})"
                                                for n in names) + ".", ""]
    header = ["dataset", "seed", "metric", "automl"] + [short[n] for n in names]
    lines += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for _, r in diffs.iterrows():
        cells = [r["dataset"], str(r["seed"]), r["metric"], f"{r['automl']:.4f}"]
        cells += [_cell(r.get(n), n in dead.get(r["dataset"], ())) for n in names]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Over the datasets where the item can act (helps / hurts: its sign on each, ties within "
              "0.0005 left out):", ""]
    for n in names:
        d = diffs[[n not in dead.get(x, ()) for x in diffs["dataset"]]][n].dropna()
        lines.append(f"- {short[n]}: helps on {(d > 0.0005).sum()}, hurts on {(d < -0.0005).sum()} of {len(d)}")
    calibrated = [f"{n} log_loss" for n in names if f"{n} log_loss" in diffs]
    binary = diffs.dropna(subset=calibrated, how="all") if calibrated else diffs.iloc[0:0]
    if len(binary):
        lines += ["", "Binary tables' holdout log loss, the ablation's minus the full system's (positive: the "
                  "item lowers it):", ""]
        lines += ["| dataset | seed | " + " | ".join(short[c.removesuffix(' log_loss')] for c in calibrated) + " |",
                  "|" + "---|" * (len(calibrated) + 2)]
        for _, r in binary.iterrows():
            lines.append(f"| {r['dataset']} | {r['seed']} | "
                         + " | ".join(_cell(r.get(c), c.removesuffix(" log_loss") in dead.get(r["dataset"], ()))
                                      for c in calibrated) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("csv", type=Path, nargs="+", help="benchmarks.run result tables with automl and automl-no-* rows")
    p.add_argument("--datasets", type=Path, help="the runs' datasets folder: marks the items that cannot act")
    p.add_argument("--out", type=Path, help="write the markdown here (default: stdout)")
    args = p.parse_args(argv)
    frame = pd.concat([pd.read_csv(f) for f in args.csv], ignore_index=True)
    dead = inert(args.datasets, float(frame["budget"].iloc[0])) if args.datasets else None
    text = markdown(table(frame), ", ".join(f.name for f in args.csv), dead)
    if args.out:
        args.out.write_text(text)
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
