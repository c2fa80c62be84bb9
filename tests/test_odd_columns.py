"""The catalogue of odd training tables (issue 20), continued: odd feature columns and
column names, each handled or refused in one line (see ``test_odd_inputs.py``)."""

from __future__ import annotations

import datetime
import decimal

import numpy as np
import pandas as pd
import pytest
import test_odd_inputs
from odd_inputs import fit_ok, refused, table

from automl.exceptions import DataTypeError

N = 120
CASES = {}


def case(fn):
    CASES[fn.__name__] = fn
    return fn


def with_column(name, values, kind="binary", n=N):
    df = table(n, kind)
    df[name] = values
    return df


# --------------------------------------------------------------- features --
@case
def constant_column():
    aml = fit_ok(with_column("k", 7))
    assert aml.profile_.column("k").role.value == "constant"


@case
def all_nan_column():
    assert fit_ok(with_column("e", np.nan)).profile_.column("e").role.value == "constant"


@case
def single_valued_column_with_missing():
    fit_ok(with_column("s", np.where(np.arange(N) % 3, "only", None)))


@pytest.mark.parametrize("value", [np.inf, -np.inf])
def test_inf_in_a_feature(value):
    df = table()
    df.loc[4, "b"] = value
    refused(df, "y", "column 'b' holds infinite values.*position 4; replace them with NaN")


@case
def near_float_max():
    fit_ok(with_column("big", np.random.default_rng(1).normal(size=N) * 1e307))


@case
def tiny_subnormal_numbers():
    fit_ok(with_column("tiny", np.random.default_rng(1).normal(size=N) * 1e-310))


@case
def int64_extremes():
    fit_ok(with_column("i", np.where(np.arange(N) % 2, np.iinfo(np.int64).max, np.iinfo(np.int64).min)))


@case
def uint64_beyond_int64():
    fit_ok(with_column("u", (np.arange(N) % 5).astype(np.uint64) + np.uint64(2**63)))


@case
def mixed_python_types_in_one_column():
    fit_ok(with_column("mix", [1, "a", 2.5, None, True, b"x", datetime.date(2020, 1, 1), "a"] * (N // 8)))


@case
def numbers_as_python_objects():
    assert fit_ok(with_column("o", pd.Series([1, 2.5, None, 4] * (N // 4), dtype=object))).profile_.column("o").role.value == "numeric"


@case
def decimals():
    fit_ok(with_column("d", [decimal.Decimal(i % 17) / 7 for i in range(N)]))


@case
def numbers_written_as_text():
    fit_ok(with_column("t", [f"{v:.2f}" for v in np.random.default_rng(1).normal(size=N)]))


@case
def nullable_integer():
    fit_ok(with_column("i", pd.array([1, 2, None, 4] * (N // 4), dtype="Int64")))


@case
def nullable_float():
    fit_ok(with_column("f", pd.array([1.5, None, 2.5, 3.0] * (N // 4), dtype="Float64")))


@case
def nullable_boolean():
    fit_ok(with_column("bo", pd.array([True, False, None] * (N // 3), dtype="boolean")))


@case
def string_dtype_with_pd_na():
    fit_ok(with_column("s", pd.array(["u", "v", pd.NA, "w"] * (N // 4), dtype="string")))


@case
def pyarrow_strings():
    pytest.importorskip("pyarrow")
    fit_ok(with_column("s", pd.array(["u", "v", None, "w"] * (N // 4), dtype="string[pyarrow]")))


@case
def pyarrow_numbers_and_strings():
    pa = pytest.importorskip("pyarrow")
    df = table()
    df["i"] = pd.Series([1, None, 3, 4] * (N // 4), dtype=pd.ArrowDtype(pa.int64()))
    df["s"] = pd.Series(["u", None, "v", "w"] * (N // 4), dtype=pd.ArrowDtype(pa.string()))
    fit_ok(df)


@case
def category_dtype_with_unused_levels_and_missing():
    values = pd.Categorical(["u", "v", None, "w"] * (N // 4), categories=["u", "v", "w", "never"])
    fit_ok(with_column("cat", values))


@case
def boolean_column():
    fit_ok(with_column("flag", np.arange(N) % 3 == 0))


@case
def timezone_aware_datetimes():
    fit_ok(with_column("when", pd.date_range("2021-03-27", periods=N, freq="7h", tz="Europe/Paris")))


@case
def datetimes_with_missing():
    when = pd.Series(pd.date_range("2020-01-01", periods=N, freq="D"))
    when[::5] = pd.NaT
    fit_ok(with_column("when", when))


@case
def date_strings():
    aml = fit_ok(with_column("day", pd.date_range("2020-01-01", periods=N, freq="D").strftime("%Y-%m-%d")))
    assert aml.profile_.column("day").role.value == "datetime"


@case
def durations():
    assert fit_ok(with_column("took", pd.to_timedelta(np.arange(N) % 13, unit="h"))).profile_.column("took").role.value == "numeric"


@case
def long_free_text():
    rng = np.random.default_rng(0)
    words = np.array("the quick brown fox jumps over a lazy dog while cats sleep in warm sun".split())
    fit_ok(with_column("notes", [" ".join(rng.choice(words, 200)) for _ in range(N)]))


@case
def thousands_of_levels():
    df = table(3000)
    df["code"] = [f"L{i}" for i in np.random.default_rng(0).integers(0, 2000, size=3000)]
    assert fit_ok(df).profile_.column("code").n_unique > 1000


@case
def bytes_values():
    fit_ok(with_column("raw", [b"alpha", b"beta", None] * (N // 3)))


@case
def dict_in_a_cell():
    refused(with_column("d", [{"k": 1}] + [1] * (N - 1)), "y", "column 'd' holds a dict at position 0", error=DataTypeError)


@case
def list_in_a_cell():
    refused(with_column("l", [[1, 2]] * N), "y", "column 'l' holds a list", error=DataTypeError)


@case
def complex_numbers():
    refused(with_column("z", np.arange(N) * 1j), "y", "column 'z' holds complex numbers")


@case
def sparse_pandas_column():
    fit_ok(with_column("sp", pd.arrays.SparseArray(np.where(np.arange(N) % 5 == 0, 1.5, 0.0))))


@case
def periods():
    fit_ok(with_column("month", pd.period_range("2020-01", periods=N, freq="M")))


# ------------------------------------------------------------ column names --
@case
def integer_column_names():
    df = table().rename(columns={"a": 0, "b": 1, "c": 2})
    assert fit_ok(df).feature_columns_ == ["0", "1", "2"]


@case
def float_and_none_column_names():
    df = table().rename(columns={"a": 1.5, "b": None})
    assert fit_ok(df).feature_columns_ == ["1.5", "None", "c"]


@case
def duplicated_column_names():
    df = table()
    df.columns = ["a", "a", "c", "y"]
    refused(df, "y", r"duplicated column names \['a'\]")


@case
def names_equal_as_text():
    refused(table().rename(columns={"a": 1, "b": "1"}), "y", r"duplicated column names \['1'\]")


@case
def unicode_column_names():
    fit_ok(table().rename(columns={"a": "température °C", "b": "数量", "c": "ß"}))


@case
def names_lightgbm_and_xgboost_reject():
    df = table().rename(columns={"a": 'a,"[]{}:', "b": "b<1>", "c": "c]"})
    fit_ok(df, models=["lightgbm", "xgboost", "logistic_regression"])


@case
def names_equal_once_made_safe():
    fit_ok(table().rename(columns={"a": "x y", "b": "x-y", "c": "x_y"}), models=["lightgbm", "xgboost"])


@case
def empty_and_blank_names():
    fit_ok(table().rename(columns={"a": "", "b": " "}))


@pytest.mark.parametrize("name", list(CASES))
def test_odd_column(name):
    CASES[name]()


def test_the_catalogue_has_at_least_60_training_tables():
    parametrised = 2 + 2  # the inf cases of test_inf_in_regression_target and test_inf_in_a_feature
    assert len(CASES) + len(test_odd_inputs.CASES) + parametrised >= 60
