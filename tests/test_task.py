import numpy as np
import pandas as pd
import pytest

from automl.exceptions import DataError
from automl.data.task import Task, detect_task, resolve_task


@pytest.mark.parametrize(
    "values, task",
    [
        (["a", "b", "a", "b"], Task.BINARY),
        (["a", "b", "c", "a"], Task.MULTICLASS),
        ([True, False, True, True], Task.BINARY),
        ([0, 1, 1, 0], Task.BINARY),
        ([1, 2, 3, 4, 5, 1], Task.MULTICLASS),
        ([0.5, 1.25, 3.0, 2.2], Task.REGRESSION),
        (list(range(100)), Task.REGRESSION),
        ([1.0, 0.0, np.nan, 1.0], Task.BINARY),  # an int column with a missing value
    ],
)
def test_detect_task(values, task):
    decision = detect_task(pd.Series(values, name="t"))
    assert decision.task is task
    assert decision.reason


def test_category_dtype_is_classification():
    y = pd.Series(pd.Categorical(["x", "y", "z", "x"]))
    assert detect_task(y).task is Task.MULTICLASS


def test_relabelling_keeps_the_task():
    y = pd.Series(np.random.default_rng(0).integers(0, 4, 50))
    assert detect_task(y).task is detect_task(y.map({0: "a", 1: "b", 2: "c", 3: "d"})).task


@pytest.mark.parametrize("values, match", [([np.nan, np.nan], "no values"), ([3, 3, 3], "single value")])
def test_unusable_targets(values, match):
    with pytest.raises(DataError, match=match):
        detect_task(pd.Series(values, name="t"))


def test_override_is_validated():
    y = pd.Series([0, 1, 2, 1])
    assert resolve_task(y, "regression").task is Task.REGRESSION
    assert resolve_task(y, None).task is Task.MULTICLASS
    with pytest.raises(DataError, match="3 distinct values, not 2"):
        resolve_task(y, "binary")
    with pytest.raises(DataError, match="not a task"):
        resolve_task(y, "clustering")
    with pytest.raises(DataError, match="non-numeric"):
        resolve_task(pd.Series(["a", "b"]), "regression")


def test_classification_is_binary_or_multiclass_and_refuses_continuous_targets():
    assert resolve_task(pd.Series([0, 1, 1]), "classification").task is Task.BINARY
    assert resolve_task(pd.Series(["a", "b", "c"]), "classification").task is Task.MULTICLASS
    assert resolve_task(pd.Series([0.0, 1.0, 7.0]), "classification").task is Task.MULTICLASS, "whole floats are labels"
    with pytest.raises(DataError, match=r"Unknown label type: .* holds continuous values \(e.g. 0.5\)"):
        resolve_task(pd.Series([0.5, 1.0, 2.0], name="t"), "classification")
    with pytest.raises(DataError, match="Unknown label type"):
        resolve_task(pd.Series([0.5, 1.0, 2.0]), "multiclass")
    with pytest.raises(DataError, match="single value .* only 1 class"):
        resolve_task(pd.Series([1, 1, 1]), "classification")
    assert resolve_task(pd.Series([1, 2, 3], dtype=object), "regression").task is Task.REGRESSION, "numbers as objects"

