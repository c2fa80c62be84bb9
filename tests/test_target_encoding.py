"""The boosters' target encodings (``ModelSpec.target_encoding``, issue 23): out-of-fold
encodings of the categorical columns and of their pairs, beside the native categoricals."""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest

from automl import AutoML, Task
from automl.datasets import load
from automl.data.profile import profile_frame
from automl.preprocessing.columns import (MAX_ENCODED, MAX_ENCODED_ROWS, PAIR_COLUMNS, build_preprocessor,
                                         target_encoded)
from automl.preprocessing.compiled import compile_prep
from automl.preprocessing.transformers import CategoryPairs
from automl.search.prepared import kind
from automl.spec import ModelSpec
from automl_plugins.boosting import HIST_GRADIENT_BOOSTING, LIGHTGBM, XGBOOST


def _spec(**flags) -> ModelSpec:
    return ModelSpec("probe", frozenset(Task), lambda t, p: {}, lambda p, c: None, handles_missing=True,
                     handles_categorical=True, **flags)


def _frame(n_cats: int, n: int = 300, levels: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({f"c{j}": rng.choice([f"l{i}" for i in range(levels)], n) for j in range(n_cats)})
    df["x"] = rng.normal(size=n)
    return df


def _encoded(out: pd.DataFrame, part: str) -> list[str]:
    return [c for c in out.columns if c.startswith(part + "__")]


def test_categoricals_and_their_pairs_are_encoded_beside_the_native_columns():
    X = _frame(3)
    y = (X["c0"] == "l1").to_numpy().astype(int)
    out = build_preprocessor(profile_frame(X, 2), _spec(target_encoding=True), Task.BINARY).fit_transform(X, y)
    assert len(_encoded(out, "cat")) == 3, "the native categoricals stay"
    assert len(_encoded(out, "te_cat")) == 3
    assert _encoded(out, "te_pair") == ["te_pair__c0__x__c1", "te_pair__c0__x__c2", "te_pair__c1__x__c2"]
    assert out[_encoded(out, "te_cat") + _encoded(out, "te_pair")].notna().all().all()
    plain = build_preprocessor(profile_frame(X, 2), _spec(), Task.BINARY).fit_transform(X, y)
    assert not _encoded(plain, "te_cat") and not _encoded(plain, "te_pair")


def test_pairs_only_when_few_and_nothing_past_the_column_limit():
    many = _frame(PAIR_COLUMNS + 1)
    y = np.arange(len(many)) % 2
    out = build_preprocessor(profile_frame(many, 2), _spec(target_encoding=True), Task.BINARY).fit_transform(many, y)
    assert len(_encoded(out, "te_cat")) == PAIR_COLUMNS + 1 and not _encoded(out, "te_pair")
    # multiclass: one column per class and encoded column
    n_classes = MAX_ENCODED // 2 + 1
    y = np.arange(len(many)) % n_classes
    wide = build_preprocessor(profile_frame(many, n_classes), _spec(target_encoding=True), Task.MULTICLASS)
    out = wide.fit_transform(many, y)
    assert not _encoded(out, "te_cat"), "the encodings would take more than MAX_ENCODED columns"
    three = _frame(2)
    y = np.arange(len(three)) % 3
    out = build_preprocessor(profile_frame(three, 3), _spec(target_encoding=True), Task.MULTICLASS).fit_transform(three, y)
    assert len(_encoded(out, "te_cat")) == 2 * 3 and len(_encoded(out, "te_pair")) == 3


def test_training_rows_are_encoded_out_of_fold():
    """A column of rare levels and a random target: encodings fitted in-sample would track
    each row's own target; the cross-fitted ones must not."""
    rng = np.random.default_rng(1)
    n = 600
    X = pd.DataFrame({"rare": [f"r{i}" for i in rng.integers(0, n // 3, n)], "c": rng.choice(["a", "b"], n)})
    y = rng.integers(0, 2, n)
    out = build_preprocessor(profile_frame(X, 2), _spec(target_encoding=True), Task.BINARY).fit_transform(X, y)
    in_sample = X["rare"].map(pd.Series(y).groupby(X["rare"]).mean())
    assert np.corrcoef(in_sample, y)[0, 1] > 0.5, "the check would notice a leak"
    assert abs(np.corrcoef(out["te_cat__rare"], y)[0, 1]) < 0.2


def test_category_pairs_join_values_and_keep_missing_values_missing():
    X = pd.DataFrame({"a": ["x", "y", None, "x"], "b": [1, 2, 3, np.nan]})
    out = CategoryPairs((("a", "b"),)).fit(X).transform(X)
    assert list(out.columns) == ["a__x__b"]
    values = out["a__x__b"].tolist()
    assert values[0] != values[1] and values[0].startswith("x") and values[1].startswith("y")
    assert pd.isna(values[2]) and pd.isna(values[3])


def test_the_encodings_are_compiled_for_the_fast_path():
    X = _frame(3)
    X.loc[::7, "c1"] = None
    y = (X["c0"] == "l1").to_numpy().astype(int)
    prep = build_preprocessor(profile_frame(X, 2), _spec(target_encoding=True), Task.BINARY).fit(X, y)
    compiled = compile_prep(prep)
    assert "_Fallback" not in [type(p).__name__ for p in compiled.parts]
    rows = X.head(5).copy()
    rows.loc[rows.index[0], "c0"] = "unseen"
    batch = prep.transform(rows)
    batch = batch.apply(lambda s: s.cat.codes.where(s.cat.codes >= 0) if hasattr(s, "cat") else s).to_numpy(float)
    from automl.data.inputs import raw_columns
    np.testing.assert_allclose(compiled.transform(raw_columns(rows, compiled.inputs), len(rows)), batch)


def test_without_categoricals_the_flag_changes_nothing():
    numeric = profile_frame(_frame(0), 2)
    encoding = dataclasses.replace(HIST_GRADIENT_BOOSTING, target_encoding=True)
    assert kind(encoding, numeric) == kind(HIST_GRADIENT_BOOSTING, numeric), "one preparation shared"
    assert kind(encoding, profile_frame(_frame(2), 2)) != kind(HIST_GRADIENT_BOOSTING, profile_frame(_frame(2), 2))
    wide = profile_frame(_frame(MAX_ENCODED + 1), 2)  # past the cap: no encodings, one preparation
    assert kind(encoding, wide, Task.BINARY) == kind(HIST_GRADIENT_BOOSTING, wide, Task.BINARY)


def test_large_tables_keep_the_native_columns_alone():
    """Past MAX_ENCODED_ROWS rows the encodings only cost time (1M rows: 4 of 20 trials at a
    level AUC): the flag adds nothing there, and the boosters share one preparation."""
    at_cap, above = _frame(2, n=MAX_ENCODED_ROWS), _frame(2, n=MAX_ENCODED_ROWS + 1)
    assert target_encoded(profile_frame(at_cap, 2), _spec(target_encoding=True), Task.BINARY) == ["c0", "c1"]
    large = profile_frame(above, 2)
    assert target_encoded(large, _spec(target_encoding=True), Task.BINARY) == []
    y = np.arange(len(above)) % 2
    out = build_preprocessor(large, _spec(target_encoding=True), Task.BINARY).fit_transform(above, y)
    assert not _encoded(out, "te_cat") and not _encoded(out, "te_pair") and len(_encoded(out, "cat")) == 2
    encoding = dataclasses.replace(HIST_GRADIENT_BOOSTING, target_encoding=True)
    assert kind(encoding, large, Task.BINARY) == kind(HIST_GRADIENT_BOOSTING, large, Task.BINARY)


def test_a_booster_fitted_on_real_data_uses_them():
    """titanic (bundled): Sex and Embarked are encoded, alone and as a pair; the model file
    keeps them, and one row predicts as the batch does."""
    assert LIGHTGBM.target_encoding and XGBOOST.target_encoding
    assert not HIST_GRADIENT_BOOSTING.target_encoding, "the ensemble keeps a booster on the native columns alone"
    data = load("titanic")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        aml = AutoML(models=["lightgbm"], n_trials=2, cv=3, seed=0, verbose=0).fit(data.frame, data.target)
    prep = aml.ensemble_.pipelines[0].steps[0][1] if hasattr(aml.ensemble_.pipelines[0], "steps") else \
        aml.ensemble_.pipelines[0].pipelines[0].steps[0][1]
    names = list(prep.get_feature_names_out())
    assert "te_cat__Sex" in names and "te_pair__Sex__x__Embarked" in names
    X = data.frame.drop(columns=data.target)
    np.testing.assert_allclose(aml.predict_proba(X.iloc[:1]), aml.predict_proba(X)[:1], rtol=1e-9)


@pytest.mark.parametrize("task,n_classes", [(Task.BINARY, 2), (Task.MULTICLASS, 3)])
def test_tiny_tables_are_encoded_on_plain_folds(task, n_classes):
    """Ten rows: a fold's 8 training rows hold no class 5 times, where stratified folds
    refuse (LightGBM failed every trial on such a table)."""
    X = _frame(2, n=10)
    y = np.arange(10) % n_classes
    out = build_preprocessor(profile_frame(X, n_classes), _spec(target_encoding=True), task).fit_transform(X[:8], y[:8])
    assert len(_encoded(out, "te_cat")) == 2 * (1 if task is Task.BINARY else n_classes)
