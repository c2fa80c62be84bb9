"""The single-row fast path (compiled preprocessing, models on arrays) predicts what the
batch path (each member's Pipeline on a DataFrame) predicts, for every built-in model,
every task and every column kind, including missing values and unseen levels."""

from __future__ import annotations

import warnings
from importlib import metadata

import numpy as np
import pandas as pd
import pytest

from automl import Task
from automl.data.profile import profile_frame
from automl.final.ensemble import Ensemble
from automl.final.fast_path import FAST_ROWS, FastPath, compile_member
from automl.preprocessing.compiled import compile_prep
from automl.preprocessing.pipeline import build_pipeline, predict_scores
from automl.spec import BuildContext

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

BUILTIN = [ep.load() for ep in metadata.entry_points(group="automl") if ep.dist is not None and ep.dist.name == "automl"]
SPECS = {spec.name: spec for module in BUILTIN for spec in module.automl_register_models()}


def frame(task: Task, n: int = 240, seed: int = 0):
    rng = np.random.default_rng(seed)
    x0, x1 = rng.normal(size=n), rng.normal(size=n)
    df = pd.DataFrame({
        "x0": x0, "x1": x1, "count": rng.integers(0, 9, n), "flag": rng.random(n) > 0.5,
        "color": rng.choice(["red", "green", "blue", "grey", "teal", "rare"], n, p=[.3, .3, .2, .1, .08, .02]),
        "city": [f"city{i}" for i in rng.integers(0, 60, n)],  # high cardinality
        "zone": [f"z{i}" for i in rng.integers(0, 300, n)],  # too many levels to be native: target-encoded
    })
    df.loc[::9, "x1"] = np.nan
    df.loc[::13, "color"] = None
    df.loc[::17, "city"] = None
    signal = 1.5 * x0 + (df["color"] == "red") - 0.5 * np.nan_to_num(x1)
    if task is Task.REGRESSION:
        y = pd.Series(signal + rng.normal(scale=0.3, size=n))
    elif task is Task.BINARY:
        y = pd.Series((signal + rng.normal(scale=0.5, size=n) > 0.3).astype(int))
    else:
        y = pd.Series(np.digitize(signal + rng.normal(scale=0.5, size=n), [-0.5, 0.7]))
    return df, y


def new_rows(X: pd.DataFrame) -> pd.DataFrame:
    """Rows of X plus unseen levels, missing values everywhere, a numeric string."""
    rows = X.iloc[:12].copy()
    rows.loc[rows.index[0], ["color", "city", "zone"]] = ["purple", "nowhere", "z-unseen"]
    rows.loc[rows.index[1], ["x0", "x1"]] = np.nan
    rows.loc[rows.index[2], ["color", "city", "zone"]] = None
    return rows


def fitted(name: str, task: Task, float_dtype: str = "float64"):
    X, y = frame(task)
    n_classes = 0 if task is Task.REGRESSION else int(y.nunique())
    spec = SPECS[name]
    profile = profile_frame(X, n_classes)
    ctx = BuildContext(task=task, random_state=0, n_jobs=1, device="cpu", n_classes=n_classes)
    params = dict(spec.default_params[0])
    fid = spec.fidelity
    if fid is not None and fid.param:  # small models: quick tests
        params[fid.param] = min(fid.high, max(fid.low, 40))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(spec, params, profile, ctx, float_dtype=float_dtype).fit(X, y)
    return pipe, X, n_classes


CASES = [(name, task) for name, spec in sorted(SPECS.items()) for task in (Task.BINARY, Task.MULTICLASS, Task.REGRESSION)
         if task in spec.tasks]


FLOAT32 = [(name, Task.BINARY, "float32") for name in ("lightgbm", "logistic_regression", "random_forest")]


@pytest.mark.parametrize("name,task,float_dtype", [(n, t, "float64") for n, t in CASES] + FLOAT32,
                         ids=[f"{n}-{t.value}" for n, t in CASES] + [f"{n}-float32" for n, _, _ in FLOAT32])
def test_fast_member_predicts_as_the_pipeline(name, task, float_dtype):
    """Also for the float32 pipelines of large data (their inputs rounded to float32 alike)."""
    pipe, X, n_classes = fitted(name, task, float_dtype)
    member = compile_member(pipe, n_classes)
    assert member is not None, f"{name} is not compiled"
    rows = new_rows(X)
    fast = FastPath([pipe], n_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = predict_scores(pipe, rows, n_classes)
    got = fast.member_scores(rows)[0]
    # a float32 network, or float32 inputs scaled in float32: the rounding follows the arithmetic
    rtol = 1e-5 if name == "mlp" or float_dtype == "float32" else 1e-6
    np.testing.assert_allclose(got, expected, rtol=rtol, atol=1e-9)
    for i in (slice(0, 3), slice(0, 1), slice(1, 2), slice(2, 3)):  # few rows, one row (float32 nets round by batch size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            few = predict_scores(pipe, rows.iloc[i], n_classes)
        np.testing.assert_allclose(fast.member_scores(rows.iloc[i])[0], few, rtol=rtol, atol=1e-9)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_numbers_only_go_through_the_fast_path(name):
    """Without a categorical column every model gets the compiled matrix as an array (a
    CatBoost model once refused it for lack of column names, and the whole ensemble fell
    back to the batch path: 47 ms a row instead of 4 on bike_sharing)."""
    X, y = frame(Task.REGRESSION if Task.REGRESSION in SPECS[name].tasks else Task.BINARY)
    X = X[["x0", "x1", "count"]]
    task = Task.REGRESSION if Task.REGRESSION in SPECS[name].tasks else Task.BINARY
    spec = SPECS[name]
    params = dict(spec.default_params[0])
    if spec.fidelity is not None and spec.fidelity.param:
        params[spec.fidelity.param] = min(spec.fidelity.high, max(spec.fidelity.low, 40))
    ctx = BuildContext(task=task, random_state=0, n_jobs=1, device="cpu", n_classes=0 if task is Task.REGRESSION else 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pipe = build_pipeline(spec, params, profile_frame(X, ctx.n_classes), ctx).fit(X, y)
        expected = predict_scores(pipe, X.iloc[:3], ctx.n_classes)
    got = FastPath([pipe], ctx.n_classes).member_scores(X.iloc[:3])[0]  # raises where the batch path would be needed
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("name", ["logistic_regression", "lightgbm", "svm"])
def test_encoders_are_compiled_to_lookups(name):
    """One-hot and target encoding behind ``AsText`` (and the boosters' pairs) are read as
    per-column lookups, not run as transformers on a one-row frame (they were, unnoticed,
    after the encoders got ``AsText`` in front)."""
    pipe, _, _ = fitted(name, Task.BINARY)
    parts = [type(p).__name__ for p in compile_prep(pipe.steps[0][1]).parts]
    assert "_Texted" in parts and "_Fallback" not in parts, parts


def test_members_of_one_kind_share_their_preprocessing():
    a, X, k = fitted("lightgbm", Task.BINARY)
    b, _, _ = fitted("xgboost", Task.BINARY)  # the same flags: missing values and categories handled
    c, _, _ = fitted("logistic_regression", Task.BINARY)
    keys = [compile_prep(p.steps[0][1]).key for p in (a, b, c)]
    assert keys[0] == keys[1] != keys[2]


def test_ensemble_uses_the_fast_path_for_few_rows_only():
    a, X, k = fitted("random_forest", Task.MULTICLASS)
    b, _, _ = fitted("knn", Task.MULTICLASS)
    from automl.final.combiners import WeightedAverage

    ens = Ensemble("caruana", [{"trial": 0, "model": "random_forest", "weight": .6},
                               {"trial": 1, "model": "knn", "weight": .4}], 0.0, 0.0, pipelines=[a, b],
                   combiner=WeightedAverage(np.array([.6, .4])))
    rows = new_rows(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = WeightedAverage(np.array([.6, .4])).combine([predict_scores(p, rows, k) for p in (a, b)])
    np.testing.assert_allclose(ens.predict_scores(rows, k), batch, rtol=1e-6, atol=1e-9)
    assert ens.fast_path(k).compiled == 2
    big = pd.concat([X] * (FAST_ROWS // len(X) + 1)).iloc[: FAST_ROWS + 1]
    assert len(big) == FAST_ROWS + 1
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = WeightedAverage(np.array([.6, .4])).combine([predict_scores(p, big, k) for p in (a, b)])
        np.testing.assert_allclose(ens.predict_scores(big, k), batch, rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(ens.fast_path(k).member_scores(big)[0], predict_scores(a, big, k), rtol=1e-6)
    import pickle

    assert "_fast" not in pickle.loads(pickle.dumps(ens)).__dict__


def _fit_binary(name: str, X: pd.DataFrame, y: pd.Series):
    """A built-in model's default pipeline (30 rounds or trees at most) fitted on ``X``, ``y``."""
    spec = SPECS[name]
    ctx = BuildContext(task=Task.BINARY, random_state=0, n_jobs=1, device="cpu", n_classes=2)
    params = dict(spec.default_params[0])
    if spec.fidelity is not None and spec.fidelity.param:
        params[spec.fidelity.param] = 30
    return build_pipeline(spec, params, profile_frame(X, 2), ctx).fit(X, y)


def test_dates_and_text_predict_as_the_batch_path():
    rng = np.random.default_rng(1)
    n = 200
    X = pd.DataFrame({"x": rng.normal(size=n),
                      "when": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
                      "note": [" ".join(rng.choice(["alpha", "beta", "gamma", "delta", "eps"], 6)) for _ in range(n)],
                      "color": rng.choice(["a", "b", "c"], n)})
    y = pd.Series((X["x"] > 0).astype(int))
    for name in ("lightgbm", "logistic_regression"):
        pipe = _fit_binary(name, X, y)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = predict_scores(pipe, X.iloc[:5], 2)
        assert compile_member(pipe, 2) is not None
        np.testing.assert_allclose(FastPath([pipe], 2).member_scores(X.iloc[:5])[0], expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("task", [Task.MULTICLASS, Task.REGRESSION], ids=lambda t: t.value)
def test_fold_average_is_compiled(task):
    from automl.final.fold_models import FoldAverage

    pipes = []
    for name in ("logistic_regression" if task.is_classification else "ridge", "lightgbm"):
        pipe, X, k = fitted(name, task)
        pipes.append(pipe)
    folds = FoldAverage(pipes, k)
    rows = new_rows(X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = predict_scores(folds, rows, k)
    assert compile_member(folds, k) is not None
    np.testing.assert_allclose(FastPath([folds], k).member_scores(rows)[0], expected, rtol=1e-6, atol=1e-9)


def test_a_failing_fast_path_falls_back_to_the_pipelines(monkeypatch):
    pipe, X, k = fitted("logistic_regression", Task.BINARY)
    ens = Ensemble("single", [{"trial": 0, "model": "logistic_regression", "weight": 1.0}], 0.0, 0.0, pipelines=[pipe])

    def broken(self, frame):
        raise KeyError("a column the compiled preprocessing expected")

    monkeypatch.setattr(FastPath, "member_scores", broken)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_allclose(ens.predict_scores(X.iloc[:3], k), predict_scores(pipe, X.iloc[:3], k))


def test_another_librarys_model_gets_a_frame_with_the_column_names():
    from sklearn.linear_model import LogisticRegression

    class ByName(LogisticRegression):  # a model outside scikit-learn that reads names
        def predict_proba(self, X):
            assert list(X.columns) == list(self.feature_names_in_)
            return super().predict_proba(X)

    ByName.__module__ = "somebody_elses_plugin"
    pipe, X, k = fitted("logistic_regression", Task.BINARY)
    y = pd.Series(np.arange(len(X)) % 2)
    pipe.steps[-1] = ("model", ByName().fit(pipe.steps[0][1].transform(X), y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = predict_scores(pipe, X.iloc[:4], k)
    np.testing.assert_allclose(FastPath([pipe], k).member_scores(X.iloc[:4])[0], expected, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("task", [Task.BINARY, Task.MULTICLASS, Task.REGRESSION])
def test_xgboost_trees_walked_together_predict_as_xgboost(task):
    """XGBoost's flattened trees (a few rows) give its own predictions, NaN included; a model
    with categorical splits is not flattened (XGBoost predicts it)."""
    import xgboost as xgb

    from automl.final.fast_models import _flat_xgboost

    X, y = frame(task, n=600)
    numbers = X[["x0", "x1", "count"]].to_numpy(dtype=np.float64)
    cls = xgb.XGBRegressor if task is Task.REGRESSION else xgb.XGBClassifier
    model = cls(n_estimators=60, max_depth=5, learning_rate=0.3, n_jobs=1).fit(numbers, y)
    booster = model.get_booster()
    flat = _flat_xgboost(model, booster, model._get_iteration_range(None))
    assert flat is not None
    rows = np.vstack([numbers[:50], [[np.nan, np.nan, np.nan], [0.0, np.nan, 3.0]]])
    expected = model.predict(rows) if task is Task.REGRESSION else model.predict_proba(rows)
    got = flat.value_of(rows)
    if task is Task.BINARY:
        got = np.column_stack([1 - got, got])
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    assert _flat_xgboost(model, booster, model._get_iteration_range(None)) is flat  # built once per model

    coded = X[["x0", "color"]].assign(color=X["color"].astype("category"))
    categorical = cls(n_estimators=10, enable_categorical=True, max_cat_to_onehot=1, n_jobs=1).fit(coded, y)
    assert _flat_xgboost(categorical, categorical.get_booster(), (0, 0)) is None


def test_dates_are_compiled_and_read_as_the_batch_path_reads_them():
    """Date columns (text, datetime64, time zones, missing, not a date) go through the
    compiled parts (``_Dated``), with the batch path's values."""
    rng = np.random.default_rng(2)
    n = 300
    stamps = pd.Timestamp("2020-03-01") + pd.to_timedelta(rng.integers(0, 900 * 24, n), unit="h")
    X = pd.DataFrame({"x": rng.normal(size=n), "when": stamps.strftime("%Y-%m-%d %H:%M"),
                      "at": pd.Series(stamps).dt.tz_localize("Europe/Paris", ambiguous="NaT", nonexistent="NaT")})
    X.loc[::11, "when"] = None
    X.loc[::7, "at"] = pd.NaT
    y = pd.Series((X["x"] + (pd.Series(stamps).dt.month > 6) > 0.5).astype(int))
    rows = pd.concat([X.iloc[:12], X.iloc[[0]].assign(when="1999-12-31 23:59"), X.iloc[[5]].assign(when="not a date")])
    for name in ("lightgbm", "logistic_regression"):
        pipe = _fit_binary(name, X, y)
        parts = [type(p).__name__ for p in compile_prep(pipe.steps[0][1]).parts]
        assert parts.count("_Dated") == 1 and "_Fallback" not in parts, parts
        assert len(compile_prep(pipe.steps[0][1]).parts[[p == "_Dated" for p in parts].index(True)].columns) == 2
        prep = pipe.steps[0][1]
        compiled = compile_prep(prep)
        cols = {c: rows[c].to_numpy() for c in compiled.inputs}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = np.asarray(prep.transform(rows)[compiled.names].astype(float))
        np.testing.assert_allclose(compiled.transform(cols, len(rows)), expected, rtol=1e-12, equal_nan=True)
        for i in range(len(rows)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                few = predict_scores(pipe, rows.iloc[[i]], 2)
            np.testing.assert_allclose(FastPath([pipe], 2).member_scores(rows.iloc[[i]])[0], few, rtol=1e-6, atol=1e-9)
