import numpy as np
import pandas as pd
import pytest

from automl.preprocessing.columns import build_preprocessor
from automl.data.profile import profile_frame
from automl.spec import ModelSpec
from automl.data.task import Task


def _spec(**flags):
    return ModelSpec("probe", frozenset(Task), lambda t, p: {}, lambda p, c: None, **flags)


@pytest.fixture
def xy(mixed_frame):
    X = mixed_frame.drop(columns="y")
    y = (mixed_frame["y"] == "yes").astype(int).to_numpy()
    return X, y


def test_caller_frame_is_not_modified(xy):
    X, y = xy
    before = X.copy()
    build_preprocessor(profile_frame(X), _spec(needs_scaling=True), Task.BINARY).fit_transform(X, y)
    pd.testing.assert_frame_equal(X, before)


def test_imputes_and_scales_only_when_needed(xy):
    X, y = xy
    profile = profile_frame(X)
    scaled = build_preprocessor(profile, _spec(needs_scaling=True), Task.BINARY).fit_transform(X, y)
    assert not scaled.isna().any().any()
    assert abs(scaled.filter(like="x0").iloc[:, 0].mean()) < 1e-9
    assert any("missingindicator" in c for c in scaled.columns)
    raw = build_preprocessor(profile, _spec(handles_missing=True), Task.BINARY).fit_transform(X, y)
    assert raw.isna().any().any(), "a model that handles NaN gets NaN"
    assert raw.filter(like="x0").iloc[:, 0].std() > 0.5 and abs(raw.filter(like="x0").iloc[:, 0].mean()) > 1e-6


def test_dropped_columns_are_absent(xy):
    X, y = xy
    out = build_preprocessor(profile_frame(X), _spec(), Task.BINARY).fit_transform(X, y)
    assert not [c for c in out.columns if "row_id" in c or "const" in c or "empty" in c]


def test_datetime_expanded(xy):
    X, y = xy
    out = build_preprocessor(profile_frame(X), _spec(), Task.BINARY).fit_transform(X, y)
    parts = [c for c in out.columns if "when" in c]
    assert any(c.endswith("_year") for c in parts) and any(c.endswith("_day_of_week") for c in parts)
    assert not any(c.endswith("_hour") for c in parts), "dates without times get no hour part"


def test_native_categoricals_and_unseen_levels(xy):
    X, y = xy
    pre = build_preprocessor(profile_frame(X), _spec(handles_missing=True, handles_categorical=True), Task.BINARY)
    out = pre.fit_transform(X, y)
    assert isinstance(out["cat__cat"].dtype, pd.CategoricalDtype)
    new = X.head(3).copy()
    new["cat"] = ["purple", "red", None]
    new["city"] = ["nowhere", "city1", "city2"]
    row = pre.transform(new)
    assert row["cat__cat"].isna().tolist() == [True, False, True]


def test_onehot_handles_unseen_levels(xy):
    X, y = xy
    pre = build_preprocessor(profile_frame(X), _spec(needs_scaling=True), Task.BINARY).fit(X, y)
    new = X.head(2).copy()
    new["cat"] = ["purple", "red"]
    out = pre.transform(new)
    assert np.isfinite(out.to_numpy(dtype=float)).all()


def test_high_cardinality_target_encoded_for_multiclass(xy):
    X, _ = xy
    y = np.arange(len(X)) % 3
    out = build_preprocessor(profile_frame(X), _spec(), Task.MULTICLASS).fit_transform(X, y)
    assert len([c for c in out.columns if c.startswith("te__")]) == 3  # one column per class


def test_column_names_are_safe_for_boosting_libraries():
    X = pd.DataFrame({"a:b": [1.0, 2.0, 3.0, 4.0] * 5, "c,d": ["x", "y"] * 10})
    out = build_preprocessor(profile_frame(X), _spec(), Task.REGRESSION).fit_transform(X, np.arange(20.0))
    assert all(set(c) <= set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") for c in out.columns)
