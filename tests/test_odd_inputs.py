"""The catalogue of odd training tables (issue 20): each is handled or refused in one line.

Handled: every trial of the models asked for is ``ok`` (the leaderboard shows it; a family
failing every trial while the fit survives on another is a failure here), predictions and
probabilities are well formed. Refused: one line naming the column or value. The caller's
objects are never modified. Here: the table's shape and the target. Odd feature columns
and column names are in ``test_odd_columns.py``; predict-time cases, the CLI and every
model family in ``test_odd_inputs_predict.py``; the checks themselves in ``odd_inputs.py``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from odd_inputs import fit_ok, refused, table

N = 120
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


# ----------------------------------------------------------------- shapes --
@case
def empty_frame():
    refused(pd.DataFrame(), "y", "0 feature")


@case
def zero_rows():
    refused(table().iloc[:0], "y", "0 sample")


@case
def only_the_target():
    refused(table()[["y"]], "y", "no feature columns")


@case
def one_row():
    refused(table().iloc[:1], "y", "1 sample")


@case
def ten_rows():
    df = table(40).groupby("y").head(5).reset_index(drop=True)
    assert len(df) == 10
    fit_ok(df)


@case
def two_thousand_columns_two_hundred_rows():
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(200, 2000)), columns=[f"f{i}" for i in range(2000)])
    df["y"] = np.where(df["f0"] + df["f1"] > 0, "yes", "no")
    assert fit_ok(df, models=["decision_tree", "logistic_regression"]).n_features_in_ == 2000


@case
def duplicated_rows():
    fit_ok(pd.concat([table(60), table(60)], ignore_index=True))


@case
def string_index_shuffled():
    df = table()
    df.index = [f"row{i}" for i in np.random.default_rng(0).permutation(N)]
    fit_ok(df)


@case
def duplicated_index():
    df = table()
    df.index = [7] * N
    fit_ok(df)


@case
def multiindex_columns():
    df = table().drop(columns="y")
    y = table()["y"]
    df.columns = pd.MultiIndex.from_tuples([("num", "a"), ("num", "b"), ("text", "c")])
    aml = fit_ok(df, y)
    assert aml.feature_columns_ == ["num_a", "num_b", "text_c"]


@case
def multiindex_target_name():
    df = table()
    df.columns = pd.MultiIndex.from_tuples([("num", "a"), ("num", "b"), ("text", "c"), ("out", "y")])
    assert fit_ok(df, ("out", "y")).feature_columns_ == ["num_a", "num_b", "text_c"]


@case
def numpy_arrays():
    df = table()
    fit_ok(df[["a", "b"]].to_numpy(), df["y"].to_numpy())


@case
def lists_of_rows():
    df = table()
    fit_ok(df[["a", "b", "c"]].values.tolist(), df["y"].tolist())


@case
def object_array_of_mixed_columns():
    df = table()
    fit_ok(df[["a", "c", "b"]].to_numpy(dtype=object), df["y"].to_numpy())


# ----------------------------------------------------------------- target --
@case
def target_column_missing():
    refused(table(), "label", "'label'")


@case
def target_all_nan():
    df = table()
    df["y"] = np.nan
    refused(df, "y", "'y'.*every row is missing")


@case
def target_partly_nan():
    df = table()
    df.loc[::7, "y"] = None
    assert fit_ok(df).profile_.n_rows == N - len(range(0, N, 7))


@case
def target_constant():
    df = table()
    df["y"] = "yes"
    refused(df, "y", "single value.*'yes'")


@case
def target_class_with_one_row():
    df = table()
    df.loc[5, "y"] = "rare"
    refused(df, "y", "Class 'rare'.*single row")


@case
def target_hundreds_of_classes():
    rng = np.random.default_rng(0)
    k = np.arange(600) % 200
    df = pd.DataFrame({"a": k + rng.normal(scale=0.1, size=600), "b": rng.normal(size=600)})
    df["y"] = [f"class{i}" for i in k]
    aml = fit_ok(df, models=["decision_tree"])
    assert len(aml.classes_) == 200


@case
def target_float_with_few_values():
    df = table(kind="regression")
    df["y"] = np.where(df["y"] > 0, 2.5, 0.5)
    fit_ok(df, kind="regression")


@case
def target_float_holding_whole_numbers():
    df = table(kind="multiclass")
    df["y"] = df["y"].map({"low": 1.0, "mid": 2.0, "high": 3.0})
    assert list(fit_ok(df, kind="multiclass").classes_) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_in_regression_target(value):
    df = table(kind="regression")
    df.loc[3, "y"] = value
    refused(df, "y", "Target 'y' holds infinite values", kind="regression")


@case
def target_huge_regression_values():
    df = table(kind="regression")
    df["y"] *= 1e300
    refused(df, "y", r"Target 'y' holds values as large as -?\d.*e\+30\d .*rescale it", kind="regression")


@case
def target_large_regression_values():
    df = table(kind="regression")
    df["y"] *= 1e30
    fit_ok(df, kind="regression")


@case
def target_boolean():
    df = table()
    df["y"] = df["y"] == "yes"
    fit_ok(df)


@case
def target_category_dtype():
    df = table()
    df["y"] = df["y"].astype("category")
    fit_ok(df)


@case
def target_nullable_integer_with_missing():
    df = table()
    df["y"] = pd.array(np.where(df["y"] == "yes", 1, 0), dtype="Int64")
    df.loc[::9, "y"] = pd.NA
    fit_ok(df)


@case
def target_string_dtype_with_pd_na():
    df = table()
    df["y"] = df["y"].astype("string")
    df.loc[::9, "y"] = pd.NA
    fit_ok(df)


@case
def target_mixing_python_types():
    df = table()
    df["y"] = df["y"].map({"yes": 1, "no": "no"}).astype(object)
    fit_ok(df)


@case
def target_values_of_another_length():
    refused(table().drop(columns="y"), np.zeros(N - 1), "y has 119 values but X has 120 rows")


@case
def target_values_with_another_index():
    df = table()
    y = df.pop("y")
    y.index = y.index + 1000  # taken by position, as scikit-learn does
    fit_ok(df, y)


@case
def target_named_by_an_integer_label():
    df = table().rename(columns={"a": 0, "b": 1, "c": 2, "y": 3})
    assert fit_ok(df, 3).target_ == "3"


@case
def continuous_target_with_task_classification():
    refused(table(kind="regression"), "y", "Unknown label type.*task='regression'", task="classification")


@pytest.mark.parametrize("name", list(CASES))
def test_odd_table(name):
    CASES[name]()
