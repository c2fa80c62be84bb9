"""The benchmark runner itself (benchmarks/run.py): runs, scores, records errors, reports.

One small end-to-end run (two bundled datasets and a small regression one, a 2 s budget,
each system in its own process) plus the scoring pieces. It never needs FLAML: the
FLAML targets must then read "n/a". The benchmark's numbers are not checked here.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed: the checkout's
from benchmarks import analysis, run, scoring  # noqa: E402

SYSTEMS = ["automl", "hgb", "dummy", "fail"]
BUDGET = 2


@pytest.fixture(scope="module")
def datasets(tmp_path_factory) -> Path:
    """Two bundled datasets (binary, multiclass) and sklearn's diabetes (regression)."""
    from sklearn.datasets import load_diabetes

    folder = tmp_path_factory.mktemp("datasets")
    bundled = run.bundled_datasets()
    manifest = [e for e in json.loads((bundled / "manifest.json").read_text())
                if e["name"] in ("blood_transfusion", "vehicle")]
    for entry in manifest:
        shutil.copy(bundled / entry["file"], folder / entry["file"])
    diabetes = load_diabetes(as_frame=True).frame
    diabetes.to_csv(folder / "diabetes.csv.gz", index=False)
    manifest.append({"name": "diabetes", "file": "diabetes.csv.gz", "target": "target", "task": "regression"})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


@pytest.fixture(scope="module")
def result(datasets, tmp_path_factory):
    out = tmp_path_factory.mktemp("out")
    frame = run.main(["--datasets", str(datasets), "--budget", str(BUDGET), "--systems", *SYSTEMS,
                      "--bootstrap", "50", "--out", str(out), "--prefix", "test"])
    return frame, out


def test_outputs_written(result):
    frame, out = result
    stem = out / f"test_{BUDGET}s"
    csv = pd.read_csv(f"{stem}.csv")
    for column in ("dataset", "task", "seed", "system", "status", "metric", "score", "norm_score", "const_score",
                   "fit_s", "predict_1row_ms", "predict_1000_ms", "peak_rss_mb", "error", "single_score"):
        assert column in csv.columns, column
    assert len(csv) == 3 * len(SYSTEMS)
    assert set(csv["dataset"]) == {"blood_transfusion", "vehicle", "diabetes"}
    assert dict(zip(csv["dataset"], csv["metric"])) == {"blood_transfusion": "roc_auc", "vehicle": "log_loss",
                                                         "diabetes": "r2"}
    pairs = pd.read_csv(f"{stem}_pairs.csv")
    assert {"diff", "noise", "verdict"} <= set(pairs.columns)
    assert set(pairs["b"]) == {"hgb", "fail", "automl_single"}
    assert set(pairs["verdict"]) <= {"win", "tie", "loss"}
    assert (pairs.loc[pairs["b"] == "hgb", "noise"] > 0).all()
    assert (pairs.loc[pairs["b"] == "fail", "verdict"] == "win").all()
    pytest.importorskip("matplotlib")
    assert Path(f"{stem}.png").stat().st_size > 1000


def test_runs_scored_and_timed(result):
    frame, _ = result
    ok = frame[frame["status"] == "ok"]
    assert set(ok["system"]) == {"automl", "hgb", "dummy"}
    assert (ok["fit_s"] >= 0).all() and (ok["predict_1row_ms"] > 0).all() and (ok["predict_1000_ms"] > 0).all()
    assert (ok["peak_rss_mb"] > 50).all()
    ours = ok[ok["system"] == "automl"]
    assert len(ours) == 3 and ours["single_score"].notna().all()
    assert ours["ensemble"].isin(["single", "caruana", "stacking"]).all()
    binary = ok[ok["task"] == "binary"]
    assert ((binary["roc_auc"] > 0.5) | (binary["system"] == "dummy")).all()


def test_normalised_scores(result):
    frame, _ = result
    for _, runs in frame.groupby("dataset"):
        ok = runs[runs["status"] == "ok"]
        assert ok["norm_score"].max() == pytest.approx(1.0)
        assert (ok["norm_score"] <= 1 + 1e-9).all()
        dummy = runs.loc[runs["system"] == "dummy", "norm_score"].item()
        assert abs(dummy) < 0.05  # the constant predictor scores about 0
    multiclass = frame[(frame["task"] == "multiclass") & (frame["system"] == "dummy")].iloc[0]
    assert multiclass["log_loss"] == pytest.approx(multiclass["const_score"])


def test_failing_system_recorded_not_fatal(result):
    frame, _ = result
    failed = frame[frame["system"] == "fail"]
    assert len(failed) == 3
    assert (failed["status"] == "error").all()
    assert failed["error"].str.contains("deliberate failure").all()
    assert (failed["norm_score"] == 0).all()


def test_markdown_targets(result):
    frame, out = result
    md = (out / f"test_{BUDGET}s.md").read_text()
    for heading in ("## Targets", "## Summary", "## Holdout score per dataset", "## Normalised score per dataset",
                    "## automl against each system, per dataset", "## Errors"):
        assert heading in md
    targets = [ln for ln in md.splitlines() if ln.startswith("- **") and "** " in ln]
    text = "\n".join(targets)
    assert "**n/a** automl's mean normalised score is higher than FLAML's: FLAML not run" in text
    assert "**n/a** automl wins or ties against FLAML" in text
    for claim in ("never worse than default HGB beyond noise", "fit wall time <= 1.05 x budget + 2 s",
                  "single-row prediction latency is under 50 ms",
                  "never worse than automl's best single model beyond noise",
                  "better than the best single model on average"):
        line = next(ln for ln in targets if claim in ln)
        assert line.startswith(("- **PASS**", "- **FAIL**")), line
    assert "deliberate failure" in md.split("## Errors")[1]
    assert "cores" in md and "scikit-learn" in md  # machine and versions


def test_flaml_skipped_with_note_when_missing(datasets, tmp_path, monkeypatch):
    monkeypatch.setattr(run, "flaml_available", lambda: False)
    frame = run.main(["--datasets", str(datasets), "--names", "blood_transfusion", "--budget", "1",
                      "--systems", "flaml", "dummy", "--out", str(tmp_path)])
    assert list(frame["system"]) == ["dummy"]
    assert "FLAML is not installed: skipped" in (tmp_path / "peers_1s.md").read_text()


def test_timeout_recorded(datasets, tmp_path):
    entry = json.loads((datasets / "manifest.json").read_text())[0]
    row, arrays = run.run_one(entry, datasets, "hgb", 1, 0, [], 0.2, tmp_path)
    assert row["status"] == "timeout" and "timeout" in row["error"] and arrays is None


def test_split_seed_fixes_the_split_across_seeds(datasets, tmp_path):
    """``--split-seed``: the systems' seed changes, the test rows do not (PEERS.md's split)."""
    entry = json.loads((datasets / "manifest.json").read_text())[0]
    tests = {}
    for seed, split_seed in [(0, None), (1, 0), (1, None)]:
        row, arrays = run.run_one(entry, datasets, "hgb", 1, seed, [], 120, tmp_path,
                                  split_seed)
        assert row["status"] == "ok" and row["seed"] == seed
        tests[seed, split_seed] = arrays["y"]
    assert np.array_equal(tests[0, None], tests[1, 0])
    assert not np.array_equal(tests[0, None], tests[1, None])


def test_smoke_defaults():
    args = run.parse_args(["--smoke"])
    assert args.names == list(run.SMOKE_NAMES) and args.budget == run.SMOKE_BUDGET
    assert (args.datasets / "manifest.json").exists()
    names = {e["name"] for e in json.loads((args.datasets / "manifest.json").read_text())}
    assert set(run.SMOKE_NAMES) <= names
    assert args.out.name == "smoke"


def test_automl_is_benchmarked_on_its_built_in_models_only():
    from automl.registry import discover
    from benchmarks.systems import third_party_models

    specs = discover().specs
    excluded = third_party_models()
    assert {"lightgbm", "random_forest", "logistic_regression"} <= set(specs) - set(excluded)
    if "adaboost" in specs:  # the example plugin, installed by the test command
        assert "adaboost" in excluded


def test_scoring_pieces():
    y = np.array([0, 1, 1, 2, 2, 2])
    priors = scoring.constant_prediction("multiclass", y, len(y), 3)
    const = scoring.constant_score("multiclass", y, y, 3)
    assert scoring.metrics("multiclass", y, priors)["log_loss"] == pytest.approx(const)
    assert scoring.normalise(0.2, const, 0.2, True) == 1.0 and scoring.normalise(const, const, 0.2, True) == 0.0
    assert np.isnan(scoring.normalise(-0.3, 0.0, -0.1)), "R²: every system worse than the constant"
    assert np.isnan(scoring.normalise(0.2, const, 0.2)), "log loss read as higher-is-better: no better than constant"
    assert scoring.normalise(0.7, 0.5, 0.9) == pytest.approx(0.5)  # AUC: (0.7 - 0.5) / (0.9 - 0.5)
    assert scoring.verdict(0.01, 0.01) == "tie" and scoring.verdict(0.05, 0.01) == "win"
    assert scoring.verdict(-0.05, 0.01) == "loss"
    rng = np.random.default_rng(0)
    yb = rng.integers(0, 2, 300)
    good = np.c_[1 - (p := np.clip(0.5 * yb + 0.5 * rng.random(300), 0, 1)), p]
    binary = scoring.metrics("binary", yb, good)
    assert binary["log_loss"] < scoring.metrics("binary", yb, np.full((300, 2), 0.5))["log_loss"] == pytest.approx(np.log(2))
    diff, noise = scoring.paired_difference("binary", yb, good, good)
    assert diff == 0 and noise == 0
    diff, noise = scoring.paired_difference("binary", yb, good, np.full((300, 2), 0.5))
    assert diff > 2 * noise > 0  # a real model beats the constant beyond noise


def test_read_peers(tmp_path):
    path = tmp_path / "PEERS.md"
    path.write_text("intro\n\n| dataset | metric | ag | flaml |\n|---|---|---|---|\n"
                    "| adult | roc_auc | **0.9310** | 0.9296 |\n| car | log_loss | 0.0777 | **0.0145** |\n"
                    "| **mean normalised** (0 const, 1 best) | | 0.969 | 0.965 |\n\n## At 300 s\n\n"
                    "| dataset | metric | ag |\n|---|---|---|\n| car | log_loss | 0.0500 |\n")  # another budget
    peers = analysis.read_peers(path)
    assert list(peers.columns) == ["dataset", "metric", "ag", "flaml"]
    assert peers.set_index("dataset").loc["car", "flaml"] == 0.0145 and len(peers) == 2
    ours = pd.DataFrame([{"dataset": "car", "seed": 0, "system": "automl", "metric": "log_loss", "score": 0.0100,
                          "status": "ok", "const_score": 0.8}])
    table = analysis.with_peers(ours, peers)
    assert table.loc["car", "automl"] == 1.0 and 0 < table.loc["car", "peer:flaml"] < 1


def test_halving_report_means_and_normalised_scores():
    from benchmarks import halving_report

    def row(halving, automl, n_trials):
        return {"dataset": "d", "halving": halving, "metric": "log_loss", "automl": automl, "hgb": 0.0075,
                "constant": 1.0, "n_trials": n_trials, "per_rung": {"0": n_trials}, "n_pruned": 0, "fit_s": 10.0}

    # car's case: two near-perfect log losses; the ratio to HGB swings, the normalised score does not
    text = halving_report.render([row(True, 0.0099, 48), row(False, 0.0058, 33)], 30)
    assert "on 0.7576, off 1.2931 (LOWER with halving)" in text
    assert "on 0.9959, off 1.0000 (LOWER with halving)" in text
    assert "more configurations than no halving on 1 of 1 datasets; 48 against 33" in text
    old = [{k: v for k, v in r.items() if k != "constant"} for r in (row(True, 0.01, 5), row(False, 0.02, 5))]
    assert "normalised" not in halving_report.render(old, 30), "rows without a constant: no normalised line"
