"""Property tests (issue 20) with Hypothesis over random frames: task detection,
column profiling and the preprocessing of every model kind either work or raise
``DataError``; what reaches a model is finite, of consistent shape, and unseen data at
transform time (new levels, NaN, new dates) is handled. The caller's frames are not
modified."""

from __future__ import annotations

import datetime

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from automl.data.inputs import split_xy
from automl.data.profile import Role, profile_frame
from automl.data.task import Task, check_classes, resolve_task
from automl.exceptions import DataError
from automl.preprocessing.columns import build_preprocessor
from automl.spec import ModelSpec

SETTINGS = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
#: The three flags that decide a model's preprocessing: every combination the built-in models use.
KINDS = [dict(handles_missing=True), dict(needs_scaling=True), dict(handles_missing=True, handles_categorical=True)]

words = st.sampled_from(["red", "green", "blue", "", " ", "a b c", "ünï", "1", "2.5", "2020-01-01", "NaN"])
number = st.floats(allow_nan=True, allow_infinity=False, width=64)
scalar = st.one_of(st.none(), st.integers(-10**12, 10**12), number, words, st.booleans(), st.binary(max_size=3),
                   st.dates(datetime.date(1990, 1, 1), datetime.date(2030, 1, 1)))
dates = st.datetimes(datetime.datetime(1990, 1, 1), datetime.datetime(2030, 1, 1))

COLUMN_KINDS = {
    "float": lambda n: st.lists(number, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=float)),
    "int": lambda n: st.lists(st.integers(-5, 5), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="int64")),
    "Int64": lambda n: st.lists(st.one_of(st.none(), st.integers(-3, 3)), min_size=n, max_size=n).map(
        lambda v: pd.Series(v, dtype="Int64")),
    "boolean": lambda n: st.lists(st.one_of(st.none(), st.booleans()), min_size=n, max_size=n).map(
        lambda v: pd.Series(v, dtype="boolean")),
    "bool": lambda n: st.lists(st.booleans(), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=bool)),
    "string": lambda n: st.lists(st.one_of(st.none(), words), min_size=n, max_size=n).map(
        lambda v: pd.Series(v, dtype="string")),
    "category": lambda n: st.lists(st.one_of(st.none(), words), min_size=n, max_size=n).map(
        lambda v: pd.Series(v, dtype="category")),
    "object": lambda n: st.lists(scalar, min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype=object)),
    "datetime": lambda n: st.lists(st.one_of(st.none(), dates), min_size=n, max_size=n).map(
        lambda v: pd.Series(pd.to_datetime(v)).dt.tz_localize("UTC")),
    "duration": lambda n: st.lists(st.integers(0, 10**6), min_size=n, max_size=n).map(
        lambda v: pd.Series(pd.to_timedelta(v, unit="s"))),
}


@st.composite
def frames(draw, min_rows=2, max_rows=24):
    """A frame of 1-5 columns of random kinds (and non-string names), and a second frame
    with the same columns and fresh values (unseen at fit time)."""
    n = draw(st.integers(min_rows, max_rows))
    kinds = draw(st.lists(st.sampled_from(sorted(COLUMN_KINDS)), min_size=1, max_size=5))
    names = [f"c{i}" if draw(st.booleans()) else i for i in range(len(kinds))]
    train = pd.DataFrame({name: draw(COLUMN_KINDS[k](n)) for name, k in zip(names, kinds)})
    m = draw(st.integers(1, 8))  # zero rows never reach the preprocessing: predict answers them itself
    new = pd.DataFrame({name: draw(COLUMN_KINDS[k](m)) for name, k in zip(names, kinds)})
    return train, new


def targets(n):
    return st.one_of(
        st.lists(st.sampled_from(["yes", "no", None]), min_size=n, max_size=n).map(pd.Series),
        st.lists(st.one_of(st.none(), st.integers(0, 40)), min_size=n, max_size=n).map(lambda v: pd.Series(v, dtype="Int64")),
        st.lists(number, min_size=n, max_size=n).map(pd.Series),
        st.lists(st.booleans(), min_size=n, max_size=n).map(pd.Series),
        st.lists(st.one_of(st.integers(0, 2), st.sampled_from(["a", "b"])), min_size=n, max_size=n).map(
            lambda v: pd.Series(v, dtype=object)),
    )


@SETTINGS
@given(st.data())
def test_task_detection_decides_or_refuses(data):
    n = data.draw(st.integers(1, 40))
    y = data.draw(targets(n)).rename("y")
    before = y.copy()
    task = data.draw(st.sampled_from([None, "classification", "regression", "binary", "multiclass"]))
    try:
        decision = resolve_task(y, task)
    except DataError as exc:
        assert "\n" not in str(exc)
        return
    finally:
        pd.testing.assert_series_equal(y, before)
    n_unique = y.dropna().nunique()
    assert n_unique >= 2
    if decision.task is Task.BINARY:
        assert n_unique == 2
    if decision.task is Task.MULTICLASS:
        assert n_unique > 2 or task == "multiclass"
    if decision.task is Task.REGRESSION:
        assert np.isfinite(pd.to_numeric(y.dropna()).to_numpy(dtype=float)).all()
    if decision.task.is_classification:
        try:
            check_classes(y)
        except DataError as exc:
            assert "single row" in str(exc)
            assert (y.value_counts() == 1).any()


@SETTINGS
@given(frames())
def test_profile_gives_every_column_a_role(pair):
    X, _ = pair
    before = X.copy()
    profile = profile_frame(X.set_axis([str(c) for c in X.columns], axis=1))
    pd.testing.assert_frame_equal(X, before)
    assert [c.name for c in profile.columns] == [str(c) for c in X.columns]
    for col, name in zip(profile.columns, X.columns):
        assert col.n_missing == int(X[name].isna().sum())
        assert col.n_unique <= len(X) - col.n_missing
        assert (col.role is Role.CONSTANT) == (col.n_unique <= 1)


def _finite_model_input(out: pd.DataFrame, allow_nan: bool) -> None:
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            continue  # native categories (boosting models)
        values = column.to_numpy(dtype=float)
        assert not np.isinf(values).any(), name
        assert allow_nan or not np.isnan(values).any(), name


@SETTINGS
@given(frames(), st.data())
def test_preprocessing_output_is_finite_and_handles_unseen_data(pair, data):
    X, new = pair
    y = pd.Series(data.draw(st.lists(st.sampled_from(["yes", "no"]), min_size=len(X), max_size=len(X))), name="y")
    frame = X.assign(y=y.to_numpy()) if "y" not in X.columns else X
    before = frame.copy()
    try:
        features, target, _ = split_xy(frame, "y")
        decision = resolve_task(target, None)
        check_classes(target)
    except DataError as exc:
        assert "\n" not in str(exc)
        event(f"refused: {str(exc)[:30]}")
        return
    finally:
        pd.testing.assert_frame_equal(frame, before)
    profile = profile_frame(features)
    if profile.n_features == 0:
        event("every column dropped")
        return
    event("preprocessed")
    encoded = pd.factorize(target)[0]
    new = new.set_axis([str(c) for c in new.columns], axis=1)
    for flags in KINDS:
        spec = ModelSpec("probe", frozenset(Task), lambda t, p: {}, lambda p, c: None, **flags)
        prep = build_preprocessor(profile, spec, decision.task)
        out = prep.fit_transform(features, encoded)
        assert len(out) == len(features) and out.columns.is_unique
        _finite_model_input(out, allow_nan=flags.get("handles_missing", False))
        unseen = prep.transform(new)
        assert list(unseen.columns) == list(out.columns) and len(unseen) == len(new)
        _finite_model_input(unseen, allow_nan=flags.get("handles_missing", False))
        assert [str(t) for t in unseen.dtypes] == [str(t) for t in out.dtypes]
