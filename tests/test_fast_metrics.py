"""The NumPy scorers give scikit-learn's values, and step aside where it raises or warns."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import get_scorer

from automl.data.task import Task
from automl.fast_metrics import fast_score
from automl.metrics import Metric, _ReplayClassifier, _ReplayRegressor

CLASSIFICATION = ["neg_log_loss", "roc_auc", "accuracy"]
REGRESSION = ["neg_root_mean_squared_error", "neg_mean_squared_error", "neg_mean_absolute_error", "r2"]


def sklearn_score(name, y, pred, task):
    replay = _ReplayClassifier(pred) if task.is_classification else _ReplayRegressor(pred)
    return float(get_scorer(name)(replay, np.empty((len(y), 0)), y))


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 300), k=st.integers(2, 6),
       ties=st.booleans(), extreme=st.booleans())
def test_classification_scores_match_sklearn(seed, n, k, ties, extreme):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    proba = rng.dirichlet(np.full(k, 0.3 if extreme else 2.0), n)
    if ties:  # coarse probabilities: many ties for the ranks
        proba = np.round(proba, 1)
        proba /= proba.sum(axis=1, keepdims=True)
    if extreme:  # exact zeros and ones: the clipping
        proba[: n // 3] = np.eye(k)[rng.integers(0, k, n // 3)]
    task = Task.BINARY if k == 2 else Task.MULTICLASS
    for name in CLASSIFICATION:
        fast = fast_score(name, y, proba, task)
        try:
            expected = sklearn_score(name, y, proba, task)
        except ValueError:
            assert fast is None, name  # scikit-learn raises: the fast path must step aside
            continue
        if np.unique(y).size == k and (name != "roc_auc" or k == 2):
            assert fast is not None, name  # the usual case is computed here, not handed back
        if fast is not None:
            assert fast == pytest.approx(expected, rel=1e-9, abs=1e-12), name


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 300), scale=st.floats(1e-3, 1e3))
def test_regression_scores_match_sklearn(seed, n, scale):
    rng = np.random.default_rng(seed)
    y = rng.normal(0, scale, n)
    pred = y + rng.normal(0, scale / 2, n)
    for name in REGRESSION:
        fast = fast_score(name, y, pred, Task.REGRESSION)
        assert fast == pytest.approx(sklearn_score(name, y, pred, Task.REGRESSION), rel=1e-9, abs=1e-12), name


def test_the_common_cases_take_the_fast_path():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 100)
    proba = rng.dirichlet(np.ones(3), 100)
    assert fast_score("neg_log_loss", y, proba, Task.MULTICLASS) is not None
    assert fast_score("roc_auc", y % 2, proba[:, :2] / proba[:, :2].sum(1, keepdims=True), Task.BINARY) is not None
    assert fast_score("r2", rng.normal(size=50), rng.normal(size=50), Task.REGRESSION) is not None


@pytest.mark.parametrize("case", ["missing class", "one class", "nan", "constant target", "other scorer"])
def test_special_cases_fall_back_on_sklearn(case):
    rng = np.random.default_rng(1)
    proba = rng.dirichlet(np.ones(3), 30)
    y = rng.integers(0, 3, 30)
    if case == "missing class":
        assert fast_score("neg_log_loss", np.where(y == 2, 0, y), proba, Task.MULTICLASS) is None
    elif case == "one class":
        binary = np.column_stack([proba[:, 0], 1 - proba[:, 0]])
        assert fast_score("roc_auc", np.zeros(30, dtype=int), binary, Task.BINARY) is None
        assert fast_score("neg_log_loss", np.ones(30, dtype=int), binary, Task.BINARY) is None
    elif case == "nan":
        proba[3, 1] = np.nan
        assert fast_score("accuracy", y, proba, Task.MULTICLASS) is None
    elif case == "constant target":
        assert fast_score("r2", np.ones(30), rng.normal(size=30), Task.REGRESSION) is None
    else:
        assert fast_score("balanced_accuracy", y, proba, Task.MULTICLASS) is None


def test_metric_still_raises_where_sklearn_does():
    metric = Metric("roc_auc", get_scorer("roc_auc"))
    proba = np.column_stack([np.full(10, 0.4), np.full(10, 0.6)])
    with pytest.warns(Warning):  # one class: scikit-learn warns and says nan, as before
        value = metric.score(np.zeros(10, dtype=int), proba, Task.BINARY)
    assert np.isnan(value)
