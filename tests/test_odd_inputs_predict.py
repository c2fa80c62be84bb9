"""The odd-input catalogue (issue 20), continued: odd data at predict time, the command
line's answer to refused data (one line, exit status 2), and every built-in model family
on one messy table (each family must produce an ``ok`` trial, not fail every trial while
the fit survives on the others). The training-table cases are in ``test_odd_inputs.py``."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from odd_inputs import CLASSIFIERS, assert_unchanged, automl, check_predictions, check_trials, one_line, table

from automl import AutoML
from automl.cli import main
from automl.data.task import Task
from automl.exceptions import DataError, DataTypeError
from automl.registry import discover

N = 120


def training_table() -> pd.DataFrame:
    df = table(N)
    df["day"] = pd.date_range("2021-01-01", periods=N, freq="D").strftime("%Y-%m-%d")
    df["n"] = np.arange(N) % 7  # an integer column
    return df


@pytest.fixture(scope="module")
def fitted():
    df = training_table()
    aml = automl(CLASSIFIERS).fit(df, "y")
    check_trials(aml, CLASSIFIERS)
    return aml, df.drop(columns="y").head(30)


def predicts(aml, X, same_as=None) -> None:
    """Predictions of the right shape on ``X`` (unchanged), equal to those on ``same_as``."""
    kept = copy.deepcopy(X)
    check_predictions(aml, X)
    assert_unchanged(kept, X)
    if same_as is not None:
        np.testing.assert_allclose(aml.predict_proba(X), aml.predict_proba(same_as), rtol=1e-12)


def refuses(aml, X, match: str, error=DataError) -> None:
    kept = copy.deepcopy(X)
    for method in (aml.predict, aml.predict_proba):
        with pytest.raises(error) as info:
            method(X)
        one_line(info.value, match)
    assert_unchanged(kept, X)


PREDICT = {}


def case(fn):
    PREDICT[fn.__name__] = fn
    return fn


@case
def unseen_categories(aml, X):
    predicts(aml, X.assign(c=["purple", "", "RED"] * 10))


@case
def nan_where_training_had_none(aml, X):
    predicts(aml, X.assign(a=np.nan, c=None, day=None, n=np.nan))


@case
def missing_column(aml, X):
    refuses(aml, X.drop(columns="b"), r"lacks column\(s\) \['b'\]")


@case
def extra_columns(aml, X):
    predicts(aml, X.assign(extra=1, y="yes", other="x"), same_as=X)


@case
def reordered_columns(aml, X):
    predicts(aml, X[list(reversed(X.columns))], same_as=X)


@case
def duplicated_columns(aml, X):
    refuses(aml, pd.concat([X, X[["a"]]], axis=1), r"column 'a' .*2 times")


@case
def string_in_a_numeric_column(aml, X):
    bad = X.astype({"a": object})
    bad.loc[bad.index[3], "a"] = "n/a"
    refuses(aml, bad, r"column 'a' held numbers at fit but holds 'n/a' at position 3")


@case
def numbers_written_as_text(aml, X):
    predicts(aml, X.assign(a=X["a"].map(repr), n=X["n"].astype(str)), same_as=X)


@case
def zero_rows(aml, X):
    empty = X.iloc[:0]
    assert aml.predict(empty).shape == (0,)
    assert aml.predict_proba(empty).shape == (0, 2)
    frame = aml.predict_proba(empty, as_frame=True)
    assert list(frame.columns) == list(aml.classes_) and frame.empty


@case
def zero_rows_as_an_array(aml, X):
    assert aml.predict_proba(np.empty((0, X.shape[1]), dtype=object)).shape == (0, 2)


@case
def one_row(aml, X):
    predicts(aml, X.iloc[[5]], same_as=None)
    np.testing.assert_allclose(aml.predict_proba(X.iloc[[5]]), aml.predict_proba(X)[[5]], rtol=1e-12)


@case
def infinite_value(aml, X):
    refuses(aml, X.assign(b=np.r_[np.inf, X["b"].to_numpy()[1:]]), "column 'b' holds infinite values")


@case
def dict_in_a_cell(aml, X):
    refuses(aml, X.assign(c=[{"k": 1}] * len(X)), "column 'c' holds a dict", error=DataTypeError)


@case
def array_for_a_model_fitted_on_a_frame(aml, X):
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        proba = aml.predict_proba(X.to_numpy(dtype=object))
    np.testing.assert_allclose(proba, aml.predict_proba(X), rtol=1e-12)


@case
def category_and_string_dtypes(aml, X):
    predicts(aml, X.astype({"c": "category", "day": "string"}), same_as=X)


@case
def pd_na_in_a_string_column(aml, X):
    c = X["c"].astype("string")
    c.iloc[::4] = pd.NA
    predicts(aml, X.assign(c=c))


@case
def pyarrow_dtypes(aml, X):
    pytest.importorskip("pyarrow")
    predicts(aml, X.astype({"c": "string[pyarrow]", "a": "double[pyarrow]", "n": "int64[pyarrow]"}), same_as=X)


@case
def nullable_dtypes(aml, X):
    predicts(aml, X.astype({"a": "Float64", "n": "Int64"}), same_as=X)


@case
def integers_given_as_floats(aml, X):
    predicts(aml, X.astype({"n": float}), same_as=X)


@case
def other_index(aml, X):
    predicts(aml, X.set_axis([f"r{i}" for i in range(len(X))][::-1]), same_as=X)
    predicts(aml, X.set_axis([0] * len(X)), same_as=X)


@case
def dates_in_another_format_or_not_dates(aml, X):
    predicts(aml, X.assign(day=pd.to_datetime(X["day"]).dt.strftime("%d %B %Y")))
    predicts(aml, X.assign(day=["soon", "", None] * 10))


@case
def tz_aware_dates_for_date_strings(aml, X):
    predicts(aml, X.assign(day=pd.to_datetime(X["day"]).dt.tz_localize("Asia/Tokyo")))


@case
def all_missing_row(aml, X):
    predicts(aml, pd.DataFrame({c: [None] for c in X.columns}))


@pytest.mark.parametrize("name", list(PREDICT))
def test_odd_data_at_predict_time(fitted, name):
    PREDICT[name](*fitted)


def test_regression_on_zero_rows_and_odd_values():
    df = table(N, "regression")
    aml = automl(["decision_tree", "ridge"]).fit(df, "y")
    assert aml.predict(df.iloc[:0]).shape == (0,)
    predicts(aml, df.assign(c="unseen", a=np.nan).drop(columns="y"))


# ------------------------------------------------------------------- CLI --
def _cli(argv, capsys):
    status = main(argv)
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    return status, lines, captured.out


def test_cli_refuses_odd_training_data_with_exit_status_2(tmp_path, capsys):
    df = training_table()
    df.loc[7, "b"] = np.inf
    df.to_csv(tmp_path / "inf.csv", index=False)
    status, lines, _ = _cli(["fit", str(tmp_path / "inf.csv"), "--target", "y", "--quiet"], capsys)
    assert status == 2 and len(lines) == 1 and "'b' holds infinite values" in lines[0], lines
    one = training_table()
    one.loc[3, "y"] = "rare"
    one.to_csv(tmp_path / "rare.csv", index=False)
    status, lines, _ = _cli(["fit", str(tmp_path / "rare.csv"), "--target", "y", "--quiet"], capsys)
    assert status == 2 and len(lines) == 1 and "Class 'rare'" in lines[0], lines
    assert not (tmp_path / "inf.automl").exists() and not (tmp_path / "rare.automl").exists()


def test_cli_predict_on_odd_data(tmp_path, capsys):
    df = training_table()
    df.to_csv(tmp_path / "train.csv", index=False)
    model = tmp_path / "m.automl"
    status, lines, _ = _cli(["fit", str(tmp_path / "train.csv"), "--target", "y", "--time", "0", "--trials", "2",
                             "--models", "decision_tree,logistic_regression", "--out", str(model), "--quiet"], capsys)
    assert status == 0, lines
    bad = df.drop(columns="y").astype({"a": object})
    bad.loc[4, "a"] = "abc"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    status, lines, out = _cli(["predict", str(model), str(tmp_path / "bad.csv")], capsys)
    assert status == 2 and len(lines) == 1 and "column 'a'" in lines[0] and "'abc'" in lines[0] and out == "", lines
    df.head(0).to_csv(tmp_path / "empty.csv", index=False)
    status, lines, out = _cli(["predict", str(model), str(tmp_path / "empty.csv"), "--proba"], capsys)
    assert status == 0 and out.strip().splitlines() == ["no,yes"], (lines, out)


# ------------------------------------------------------ every model family --
def messy_table(n: int, kind: str) -> pd.DataFrame:
    """Every odd column kind of issue 20 at once, with names LightGBM rejects."""
    rng = np.random.default_rng(0)
    df = table(n, kind).rename(columns={"a": 'a,"[]{}:', "b": "b ü"})
    df["mix"] = pd.Series([1, "a", 2.5, None, True, b"\x80x"] * (n // 6), dtype=object)
    df["s"] = pd.array(["u", "v", pd.NA, "w"] * (n // 4), dtype="string")
    df["i"] = pd.array([1, 2, None, 4] * (n // 4), dtype="Int64")
    df["bo"] = pd.array([True, False, None, True] * (n // 4), dtype="boolean")
    df["big"] = rng.normal(size=n) * 1e307
    df["when"] = pd.date_range("2021-03-27", periods=n, freq="5h", tz="Europe/Paris")
    df["took"] = pd.to_timedelta(np.arange(n) % 9, unit="min")
    df["cat"] = pd.Categorical(rng.choice(["p", "q", None], size=n), categories=["p", "q", "unused"])
    df["note"] = [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "eps"], 6)) for _ in range(n)]
    df[0] = rng.normal(size=n)  # a non-string name
    return df


@pytest.mark.parametrize("kind", ["binary", "regression"])
def test_every_model_family_trains_on_a_messy_table(kind):
    df = messy_table(120, kind)
    families = {s.name for s in discover().select(Task(kind), len(df))[0]}
    assert len(families) >= 10
    kept = df.copy(deep=True)
    aml = AutoML(n_trials=len(families), time_budget=None, seed=0, verbose=0, infer_limit=None, cv=3).fit(df, "y")
    pd.testing.assert_frame_equal(df, kept)
    check_trials(aml, families)  # one ok trial per family, no failed trial
    new = df.drop(columns="y").head(40).assign(mix=["zzz"] * 40, s=pd.NA, cat=None)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow on the way either
        predicts(aml, new)
    predicts(aml, df.head(0))
