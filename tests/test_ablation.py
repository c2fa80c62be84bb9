"""The ablation harness (benchmarks/ablation.py): its switches switch their item off, its
table signs the differences, and it marks where an item cannot act. Its numbers are the
benchmark's, not checked here."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not installed: the checkout's
from benchmarks import ablation, run  # noqa: E402

from automl.data.profile import profile_frame  # noqa: E402
from automl.data.task import Task  # noqa: E402
from automl.preprocessing import columns  # noqa: E402
from automl.registry import discover  # noqa: E402
from automl.search import prepared  # noqa: E402
from automl.spec import ModelSpec  # noqa: E402


@pytest.fixture(scope="module")
def credit_g() -> pd.DataFrame:
    return pd.read_csv(run.bundled_datasets() / "credit_g.csv.gz")


def test_first_default_only_cuts_every_portfolio_to_its_first(credit_g, monkeypatch):
    spec = discover().specs["lightgbm"]
    profile = profile_frame(credit_g.drop(columns="class"), 2)
    full = spec.defaults(profile)
    assert len(full) > 1
    monkeypatch.setattr(ModelSpec, "defaults", ModelSpec.defaults)  # undone after the test
    ablation.first_default_only()
    assert spec.defaults(profile) == full[:1]


def test_no_target_encoding_leaves_the_boosters_none(credit_g, monkeypatch):
    spec = discover().specs["lightgbm"]
    profile = profile_frame(credit_g.drop(columns="class"), 2)
    assert columns.target_encoded(profile, spec, Task.BINARY)
    monkeypatch.setattr(columns, "target_encoded", columns.target_encoded)
    monkeypatch.setattr(prepared, "target_encoded", prepared.target_encoded)
    ablation.no_target_encoding()
    assert columns.target_encoded(profile, spec, Task.BINARY) == []
    assert prepared.target_encoded(profile, spec, Task.BINARY) == []


def test_all_items_off_together_applies_both_patches_and_the_three_settings(credit_g, monkeypatch):
    spec = discover().specs["lightgbm"]
    profile = profile_frame(credit_g.drop(columns="class"), 2)
    full = spec.defaults(profile)
    monkeypatch.setattr(ModelSpec, "defaults", ModelSpec.defaults)
    monkeypatch.setattr(columns, "target_encoded", columns.target_encoded)
    monkeypatch.setattr(prepared, "target_encoded", prepared.target_encoded)
    _, _, settings, patch = ablation.ABLATIONS["automl-no-items"]
    getattr(ablation, patch)()
    assert spec.defaults(profile) == full[:1]
    assert prepared.target_encoded(profile, spec, Task.BINARY) == []
    assert settings == {"cv_repeats": 1, "exclude_models": ["catboost"], "calibration": None}


def test_every_ablation_is_a_benchmark_system():
    from benchmarks.systems import SYSTEMS

    assert set(ablation.ABLATIONS) <= set(SYSTEMS)


def _row(system, dataset, task, metric, score, log_loss=float("nan")):
    return {"system": system, "dataset": dataset, "seed": 0, "task": task, "metric": metric, "status": "ok",
            "score": score, "log_loss": log_loss, "budget": 60}


def test_table_signs_differences_so_positive_means_the_item_helps():
    frame = pd.DataFrame([
        _row("automl", "b", "binary", "roc_auc", 0.80, 0.40),
        _row("automl-no-repeats", "b", "binary", "roc_auc", 0.78, 0.45),  # the item helps
        _row("automl-no-calibration", "b", "binary", "roc_auc", 0.81, 0.39),  # it hurts
        _row("automl", "m", "multiclass", "log_loss", 0.10),
        _row("automl-no-repeats", "m", "multiclass", "log_loss", 0.12),  # lower is better: helps
    ])
    diffs = ablation.table(frame).set_index("dataset")
    assert diffs.loc["b", "automl-no-repeats"] == pytest.approx(0.02)
    assert diffs.loc["b", "automl-no-calibration"] == pytest.approx(-0.01)
    assert diffs.loc["b", "automl-no-repeats log_loss"] == pytest.approx(0.05)
    assert diffs.loc["m", "automl-no-repeats"] == pytest.approx(0.02)
    text = ablation.markdown(diffs.reset_index(), "t.csv", {"m": {"automl-no-repeats"}})
    assert "| m | 0 | log_loss | 0.1000 | (+0.0200) |" in text  # inert there: shown as noise
    assert "- repeats: helps on 1, hurts on 0 of 1" in text
    assert "- calibration: helps on 0, hurts on 1 of 1" in text


def test_inert_marks_items_that_cannot_act():
    dead = ablation.inert(run.bundled_datasets(), 60)
    assert "automl-no-target-encoding" not in dead["credit_g"]  # categorical columns
    assert "automl-no-target-encoding" in dead["vehicle"]  # numeric only
    assert "automl-no-repeats" not in dead["credit_g"]  # 800 training rows: repeated folds
    assert "automl-no-calibration" in dead["bike_sharing"]  # a regression
    assert "automl-no-calibration" not in dead["credit_g"]
