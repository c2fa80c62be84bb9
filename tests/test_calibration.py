"""Calibrated probabilities: the final model's class probabilities are calibrated on their
out-of-fold values when that lowers the out-of-fold log loss, never at the cost of the
search metric, and the calibration survives the model file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import log_loss, roc_auc_score

from automl import AutoML
from automl.data.task import Task
from automl.exceptions import DataError
from automl.final.calibration import Calibrator, calibrate, fit_method, floor_for, with_floor
from automl.metrics import resolve_metric
from automl.report.run_report import build_report, format_summary


def _overconfident(n: int, seed: int, power: float = 4.0):
    """Labels drawn from true probabilities q, and predictions that push q toward 0/1."""
    rng = np.random.default_rng(seed)
    q = 1 / (1 + np.exp(-rng.normal(scale=1.5, size=n)))
    y = (rng.random(n) < q).astype(int)
    z = power * np.log(q / (1 - q))
    p = 1 / (1 + np.exp(-z))
    return np.column_stack([1 - p, p]), y


def test_overconfident_probabilities_are_calibrated_and_the_ranking_kept():
    proba, y = _overconfident(3000, 0)
    auc = resolve_metric("roc_auc", Task.BINARY)
    cal, note = calibrate(proba, y, Task.BINARY, auc, seed=0)
    assert cal is not None and cal.method in ("temperature", "platt"), note
    fresh, y_new = _overconfident(3000, 1)  # new rows from the same process
    calibrated = cal.apply(fresh)
    assert np.allclose(calibrated.sum(axis=1), 1)
    assert log_loss(y_new, calibrated) < 0.8 * log_loss(y_new, fresh)
    assert roc_auc_score(y_new, calibrated[:, 1]) == pytest.approx(roc_auc_score(y_new, fresh[:, 1]), abs=1e-9)


def test_well_calibrated_probabilities_are_left_alone():
    proba, y = _overconfident(3000, 2, power=1.0)  # the true probabilities
    cal, note = calibrate(proba, y, Task.BINARY, resolve_metric("roc_auc", Task.BINARY), seed=0)
    assert cal is None and "not calibrated" in note


def test_temperature_scaling_of_multiclass_probabilities():
    rng = np.random.default_rng(3)
    n, k = 2000, 4
    logits = rng.normal(scale=2.0, size=(n, k))
    q = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in q])
    sharp = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    metric = resolve_metric("neg_log_loss", Task.MULTICLASS)
    cal, note = calibrate(sharp, y, Task.MULTICLASS, metric, seed=0)
    assert cal is not None and cal.method == "temperature", note
    assert cal.params["temperature"] == pytest.approx(3.0, rel=0.25)  # undoes the sharpening
    assert np.array_equal(cal.apply(sharp).argmax(axis=1), sharp.argmax(axis=1))


@pytest.mark.parametrize("method", ["temperature", "platt", "isotonic"])
def test_each_method_maps_probabilities_to_probabilities(method):
    proba, y = _overconfident(500, 4)
    out = fit_method(method, proba, y).apply(proba)
    assert out.shape == proba.shape and np.all(out > 0) and np.all(out < 1)
    assert np.allclose(out.sum(axis=1), 1)


def test_no_calibration_for_regression_or_when_switched_off():
    proba, y = _overconfident(500, 5)
    metric = resolve_metric("roc_auc", Task.BINARY)
    assert calibrate(proba, y, Task.BINARY, metric, seed=0, setting=None)[0] is None
    assert calibrate(proba, y, Task.REGRESSION, metric, seed=0)[0] is None
    with pytest.raises(ValueError, match="unknown calibration method"):
        Calibrator("sigmoid", {}).apply(proba)


def _noisy_binary(n: int = 600, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(scale=1.5, size=n) > 0).astype(int)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["y"] = y
    return frame


def test_an_overconfident_final_model_is_calibrated_end_to_end(tmp_path):
    """A fully grown decision tree gives 0/1 probabilities on noisy labels: calibration must fix
    the holdout log loss without changing ROC AUC, and survive save/load."""
    train, test = _noisy_binary(600, 0), _noisy_binary(600, 1)
    settings = dict(time_budget=None, n_trials=1, models=["decision_tree"], seed=0, verbose=0, infer_limit=None)
    raw = AutoML(calibration=None, **settings).fit(train, "y")
    cal = AutoML(**settings).fit(train, "y")
    assert raw.ensemble_.calibrator is None and cal.ensemble_.calibrator is not None
    assert any("probabilities calibrated" in n for n in cal.ensemble_.notes)
    p_raw, p_cal = raw.predict_proba(test), cal.predict_proba(test)
    assert log_loss(test["y"], p_cal) < log_loss(test["y"], p_raw) - 0.05
    assert roc_auc_score(test["y"], p_cal[:, 1]) == pytest.approx(roc_auc_score(test["y"], p_raw[:, 1]), abs=1e-3)
    board = cal.leaderboard()
    assert board.loc[board["status"] == "ok", "log_loss"].notna().all()
    report = build_report(cal)
    assert report["ensemble"]["calibration"]["method"] == cal.ensemble_.calibrator.method
    summary = format_summary(report).splitlines()
    assert "log_loss" in summary[summary.index("Leaderboard (top 1):") + 1]  # its header
    path = tmp_path / "m.automl"
    cal.save(path)
    loaded = AutoML.load(path)
    assert loaded.ensemble_.calibrator.method == cal.ensemble_.calibrator.method
    assert loaded.ensemble_.floor == cal.ensemble_.floor == report["ensemble"]["probability_floor"] > 0
    np.testing.assert_allclose(loaded.predict_proba(test), p_cal)


def test_the_floor_keeps_the_ranking_and_the_classes():
    rng = np.random.default_rng(3)
    proba = rng.dirichlet([0.3, 0.3, 0.3], size=400)
    proba[:50] = np.eye(3)[rng.integers(0, 3, 50)]  # certain rows: probabilities 0 and 1
    floored = with_floor(proba, floor_for(400))
    assert floor_for(400) == 0.5 / 401
    assert floored.min() >= floor_for(400) / 3 - 1e-15 and floored.max() < 1
    np.testing.assert_allclose(floored.sum(axis=1), 1.0)
    assert (floored.argmax(axis=1) == proba.argmax(axis=1)).all()
    for k in range(3):  # monotone per class: the same order of the rows
        assert (np.argsort(floored[:, k], kind="stable") == np.argsort(proba[:, k], kind="stable")).all()
    assert with_floor(proba, 0.0) is proba
    assert floor_for(400, resolve_metric("log_loss", Task.MULTICLASS)) == 0, "the search judged the probabilities"
    assert floor_for(400, resolve_metric("accuracy", Task.MULTICLASS)) == floor_for(400)


def test_a_certain_model_is_never_certain_unless_calibration_is_off():
    """A fully grown tree predicts 0 and 1: one mistake on a new row would cost unbounded
    log loss. The floor keeps each probability at least 0.5 / (K (n + 1)), n the out-of-fold rows."""
    train, test = _noisy_binary(400, 0), _noisy_binary(400, 1)
    settings = dict(time_budget=None, n_trials=1, models=["decision_tree"], cv=4, seed=0, verbose=0, infer_limit=None)
    raw = AutoML(calibration=None, **settings).fit(train, "y")
    kept = AutoML(calibration="temperature", **settings).fit(train, "y")
    assert raw.ensemble_.floor == 0 and set(np.unique(raw.predict_proba(test))) <= {0.0, 1.0}
    assert kept.ensemble_.floor == floor_for(400)
    assert any("never certain" in n for n in kept.ensemble_.notes)
    proba = kept.predict_proba(test)
    assert proba.min() >= floor_for(400) / 2 - 1e-15
    np.testing.assert_allclose(kept.predict_proba(test.iloc[:1]), proba[:1])  # the fast path floors alike


def test_regression_leaderboard_has_no_log_loss_and_a_bad_setting_is_refused():
    frame = _noisy_binary(200)
    aml = AutoML(time_budget=None, n_trials=1, models=["ridge"], task="regression", verbose=0).fit(frame, "y")
    assert aml.ensemble_.calibrator is None and aml.leaderboard()["log_loss"].isna().all()
    with pytest.raises(DataError, match="calibration must be"):
        AutoML(calibration="sigmoid").fit(frame, "y")
