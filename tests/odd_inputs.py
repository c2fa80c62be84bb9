"""What the odd-input catalogue (``test_odd_inputs*.py``) checks for every case.

A case is either handled (fit, every trial of every model asked for ``ok`` in the
leaderboard, predictions of the right shape, finite, probabilities summing to 1) or
refused with a one-line ``DataError`` that names the column or value. Either way the
caller's objects are unchanged (compared with a deep copy taken before).
"""

from __future__ import annotations

import copy
import re

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.exceptions import DataError

#: One model per kind of preprocessing: NaN kept (tree), imputed, scaled and one-hot
#: encoded (linear), native categories (LightGBM). Their defaults are cheap.
CLASSIFIERS = ["decision_tree", "logistic_regression", "lightgbm"]
REGRESSORS = ["decision_tree", "ridge", "lightgbm"]


def table(n: int = 120, kind: str = "binary", seed: int = 0) -> pd.DataFrame:
    """Two numbers and a colour; the target ``y`` depends on ``a`` and the colour."""
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n),
                       "c": rng.choice(["red", "green", "blue"], size=n)})
    signal = df["a"] + (df["c"] == "red") + rng.normal(scale=0.3, size=n)
    if kind == "binary":
        df["y"] = np.where(signal > 0.4, "yes", "no")
    elif kind == "multiclass":
        df["y"] = np.select([signal < 0, signal < 1], ["low", "mid"], "high")
    else:
        df["y"] = 3 * signal + df["b"]
    return df


def models_for(kind: str) -> list[str]:
    return REGRESSORS if kind == "regression" else CLASSIFIERS


def automl(models, **settings) -> AutoML:
    """A cheap, deterministic fit: one trial per model (its default), no clock."""
    settings = {"n_trials": len(models), "time_budget": None, "seed": 0, "verbose": 0, "infer_limit": None, "cv": 3,
                "models": models} | settings
    return AutoML(**settings)


def assert_unchanged(before, after) -> None:
    """``after`` (the caller's object) equals ``before`` (its deep copy): values, dtypes, index."""
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(after, before, check_exact=True)
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(after, before, check_exact=True)
    elif isinstance(before, np.ndarray):
        assert after.dtype == before.dtype and after.shape == before.shape
        assert pd.DataFrame(after.reshape(len(after), -1)).equals(pd.DataFrame(before.reshape(len(before), -1)))
    else:
        assert after == before


def check_trials(aml: AutoML, models) -> None:
    """Every model asked for ran and every trial is ok: none failed on these data."""
    board = aml.leaderboard()
    assert set(board["model"]) == set(models), board[["model", "status"]]
    bad = board[board["status"] != "ok"]
    assert bad.empty, bad[["model", "status", "error"]].to_string()


def check_predictions(aml: AutoML, X) -> None:
    n = len(X)
    pred = aml.predict(X)
    assert pred.shape == (n,)
    if aml.task_.is_classification:
        assert set(pred) <= set(aml.classes_)
        proba = aml.predict_proba(X)
        assert proba.shape == (n, len(aml.classes_)) and np.isfinite(proba).all()
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
        frame = aml.predict_proba(X, as_frame=True)
        assert list(frame.columns) == list(aml.classes_)
        if isinstance(X, pd.DataFrame):
            assert frame.index.equals(X.index)
    else:
        assert np.isfinite(pred.astype(float)).all()


def fit_ok(X, y="y", kind: str = "binary", models=None, predict_on=None, **settings) -> AutoML:
    """Fit, check the trials and the predictions on ``X`` (and on each of ``predict_on``),
    and that neither ``X``, ``y`` nor the prediction inputs changed."""
    models = models or models_for(kind)
    saved = copy.deepcopy((X, y))
    aml = automl(models, **settings).fit(X, y)
    assert_unchanged(saved[0], X)
    assert_unchanged(saved[1], y)
    expected = "regression" if kind == "regression" else ("binary", "multiclass")
    assert aml.task_.value in expected
    check_trials(aml, models)
    for data in [X, *(predict_on or [])]:
        kept = copy.deepcopy(data)
        check_predictions(aml, data)
        assert_unchanged(kept, data)
    return aml


def one_line(exc: BaseException, match: str) -> str:
    message = str(exc)
    assert "\n" not in message and message.strip() == message, message
    assert re.search(match, message), message
    return message


def refused(X, y="y", match: str = "", error=DataError, kind: str = "binary", **settings) -> str:
    """``fit`` refuses ``X``/``y`` with one line matching ``match``; nothing changed."""
    saved = copy.deepcopy((X, y))
    with pytest.raises(error) as info:
        automl(models_for(kind), **settings).fit(X, y)
    assert_unchanged(saved[0], X)
    assert_unchanged(saved[1], y)
    return one_line(info.value, match)
