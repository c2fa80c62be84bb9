"""End-to-end fits on bundled real datasets and generated data, with n_trials budgets."""

import types

import numpy as np
import pandas as pd
import pytest
from sklearn.model_selection import train_test_split

from automl import AutoML, ModelSpec, Task, hookimpl
from automl.datasets import load
from automl.exceptions import DataError, NotFittedError

FAST = ["logistic_regression", "ridge", "lightgbm", "decision_tree"]


def _split(name):
    data = load(name)
    stratify = data.frame[data.target] if data.task != "regression" else None
    train, test = train_test_split(data.frame, test_size=0.25, random_state=0, stratify=stratify)
    return data, train, test


@pytest.fixture(scope="module")
def titanic_fit():
    data, train, test = _split("titanic")
    aml = AutoML(time_budget=None, n_trials=6, models=FAST, cv=3, seed=0, verbose=0).fit(train, data.target)
    return aml, train, test


def test_binary_end_to_end(titanic_fit):
    aml, train, test = titanic_fit
    assert aml.task_ is Task.BINARY and "2 distinct" in aml.task_reason_
    assert list(aml.classes_) == [0, 1]
    proba = aml.predict_proba(test)
    assert isinstance(proba, np.ndarray) and proba.shape == (len(test), 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    frame = aml.predict_proba(test, as_frame=True)
    assert list(frame.columns) == list(aml.classes_) and frame.index.equals(test.index)
    np.testing.assert_array_equal(frame.to_numpy(), proba)
    assert aml.score(test) > 0.8, "ROC AUC on the Titanic holdout"
    assert set(aml.predict(test)) <= {0, 1}
    board = aml.leaderboard()
    assert len(board) == 6 and board["score"].iloc[0] == aml.best_score_
    assert {"model", "params", "score", "fit_time", "status", "error"} <= set(board.columns)
    assert aml.n_features_in_ == 11 and "Survived" not in aml.feature_names_in_
    assert aml.profile_.dropped["PassengerId"].startswith("id-like")
    assert set(aml.timings_) >= {"profile", "search", "refit", "total"}
    val = aml.validation_predictions_
    assert list(val.columns) == ["y_true", 0, 1] and len(val) == len(train)


def test_predict_accepts_reordered_extra_and_target_columns(titanic_fit):
    aml, _, test = titanic_fit
    shuffled = test[test.columns[::-1]].assign(extra=1)
    np.testing.assert_allclose(aml.predict_proba(shuffled), aml.predict_proba(test.drop(columns="Survived")))


def test_missing_feature_column_is_named(titanic_fit):
    aml, _, test = titanic_fit
    with pytest.raises(DataError, match=r"\['Age'\]"):
        aml.predict(test.drop(columns="Age"))


def test_save_load_round_trip(titanic_fit, tmp_path):
    """The model file format and its refusals: tests/test_model_file.py."""
    aml, _, test = titanic_fit
    path = tmp_path / "m.automl"
    aml.save(path)
    loaded = AutoML.load(path)
    np.testing.assert_array_equal(loaded.predict_proba(test), aml.predict_proba(test))
    assert loaded.leaderboard().equals(aml.leaderboard())
    assert loaded.score(test) == aml.score(test)


def test_multiclass_string_labels_and_log_loss():
    data, train, test = _split("vehicle")
    aml = AutoML(time_budget=None, n_trials=3, models=["logistic_regression", "decision_tree"], cv=3, verbose=0)
    aml.fit(train.drop(columns=data.target), train[data.target].map(lambda v: f"class_{v}"))
    assert aml.task_ is Task.MULTICLASS and aml.metric_ == "neg_log_loss"
    proba = aml.predict_proba(test, as_frame=True)
    assert list(aml.classes_) == list(proba.columns) == [f"class_{v}" for v in (1, 2, 3, 4)]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    accuracy = (aml.predict(test) == test[data.target].map(lambda v: f"class_{v}")).mean()
    assert accuracy > 0.7


def test_regression_with_a_date_column():
    data, train, test = _split("bike_sharing")
    train, test = train.iloc[:3000], test.iloc[:1000]
    aml = AutoML(time_budget=None, n_trials=3, models=["ridge", "lightgbm"], metric="r2", cv=3, verbose=0)
    aml.fit(train, data.target)
    assert aml.task_ is Task.REGRESSION
    assert aml.profile_.column("dteday").role.value == "datetime"
    assert aml.score(test) > 0.8
    assert not hasattr(aml, "predict_proba"), "a regression model has no predict_proba, as in scikit-learn"
    with pytest.raises(AttributeError, match="only for classification"):
        aml.predict_proba(test)


def test_caller_data_is_not_modified(mixed_frame):
    before = mixed_frame.copy()
    AutoML(time_budget=None, n_trials=2, models=["logistic_regression"], verbose=0).fit(mixed_frame, "y")
    pd.testing.assert_frame_equal(mixed_frame, before)


def test_sklearn_style_arrays_and_series():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(150, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    aml = AutoML(time_budget=None, n_trials=2, models=["logistic_regression"], verbose=0).fit(X, y)
    assert aml.feature_columns_ == ["x0", "x1", "x2", "x3"] and aml.n_features_in_ == 4
    assert not hasattr(aml, "feature_names_in_"), "set only for a frame with string column names, as in scikit-learn"
    assert (aml.predict(X) == y).mean() > 0.9


def test_a_failing_model_is_recorded_and_the_search_goes_on(mixed_frame):
    from sklearn.dummy import DummyClassifier

    class Exploding(DummyClassifier):
        def fit(self, X, y):
            raise RuntimeError("exploded on purpose")

    spec = ModelSpec("exploding", frozenset({Task.BINARY}), lambda t, p: {}, lambda p, c: Exploding())
    plugin = types.SimpleNamespace(automl_register_models=hookimpl(lambda: [spec]), __name__="exploder")
    aml = AutoML(time_budget=None, n_trials=12, models=["exploding", "logistic_regression"], plugins=[plugin],
                 verbose=0).fit(mixed_frame, "y")
    board = aml.leaderboard()
    exploding = board[board["model"] == "exploding"]
    failed = exploding[exploding["status"] == "failed"]
    assert len(failed) == 3 and failed["error"].str.contains("exploded on purpose").all()
    skipped = exploding[exploding["status"] == "skipped"]
    assert skipped["error"].str.contains("failed 3 times in a row").all()
    assert len(skipped) <= 1, "given up on: not drawn again (a queued default trial may still come)"
    assert aml.best_model_name_ == "logistic_regression"


def test_errors_are_actionable(mixed_frame):
    with pytest.raises(DataError, match="Did you mean 'y'"):
        AutoML(verbose=0).fit(mixed_frame, "Y")
    with pytest.raises(DataError, match="time_budget"):
        AutoML(time_budget=-1, verbose=0).fit(mixed_frame, "y")
    with pytest.raises(DataError, match="n_jobs"):
        AutoML(n_jobs=0, verbose=0).fit(mixed_frame, "y")
    with pytest.raises(NotFittedError):
        AutoML().predict(mixed_frame)
    with pytest.raises(Exception, match="Unknown model 'lightgmb'"):
        AutoML(models=["lightgmb"], verbose=0).fit(mixed_frame, "y")


def test_rows_with_missing_target_are_dropped(mixed_frame):
    df = mixed_frame.copy()
    df.loc[:9, "y"] = None
    aml = AutoML(time_budget=None, n_trials=1, models=["logistic_regression"], verbose=0).fit(df, "y")
    assert len(aml.oof_predictions_[aml.best_trial_]) == len(df) - 10


@pytest.mark.parametrize("storage", ["sqlite", "journal"])
def test_persistent_storage_resumes_the_study(tmp_path, mixed_frame, storage):
    import optuna

    if storage == "sqlite":
        url = f"sqlite:///{tmp_path / 'search.db'}"
    else:
        from optuna.storages.journal import JournalFileBackend

        url = optuna.storages.JournalStorage(JournalFileBackend(str(tmp_path / "journal.log")))
    kwargs = dict(time_budget=None, n_trials=2, models=["logistic_regression", "decision_tree"], storage=url,
                  study_name="resume-me", verbose=0)
    AutoML(**kwargs).fit(mixed_frame, "y")
    second = AutoML(**kwargs).fit(mixed_frame, "y")
    assert len(second.leaderboard()) == 4, "the second fit continues the first study"
    assert len(optuna.load_study(study_name="resume-me", storage=url).trials) >= 4


def test_seeded_runs_are_reproducible(mixed_frame):
    kwargs = dict(time_budget=None, n_trials=4, models=["logistic_regression", "decision_tree"], seed=3, verbose=0,
                  infer_limit=None)
    a = AutoML(**kwargs).fit(mixed_frame, "y")
    b = AutoML(**kwargs).fit(mixed_frame, "y")
    np.testing.assert_array_equal(a.predict_proba(mixed_frame), b.predict_proba(mixed_frame))


def test_a_budget_too_small_for_any_trial_still_returns_a_model(mixed_frame):
    aml = AutoML(time_budget=0.01, models=["lightgbm", "logistic_regression", "decision_tree"], verbose=0)
    aml.fit(mixed_frame, "y")
    assert aml.best_trial_ is None and aml.best_model_name_ == "decision_tree"  # the cheapest
    assert aml.predict_proba(mixed_frame).shape == (len(mixed_frame), 2)


def test_halving_prunes_and_only_full_fidelity_scores_decide():
    data, train, _ = _split("bike_sharing")
    aml = AutoML(time_budget=None, n_trials=14, models=["lightgbm", "random_forest", "ridge"], cv=2, seed=0,
                 verbose=0).fit(train.iloc[:2000], data.target)
    board = aml.leaderboard()
    assert board["pruned"].any(), "some trials stop at a lower rung"
    pruned = board[board["pruned"]]
    assert pruned["score"].isna().all() and (pruned["rung"] < 2).all()
    full = board[board["status"] == "ok"]
    assert (full["rung"] == 2).all() and full["resource"].isin(["n_estimators=300", "n_estimators=500", "rows=100%"]).all()
    assert full["refit_resource"].notna().all() and pruned["refit_resource"].isna().all()
    assert aml.best_score_ == full["score"].max()
    assert aml.best_trial_ in set(full["trial"]), "a pruned trial's low-rung value never wins"
    assert full["model"].nunique() >= 2, "full-fidelity trials of two families"
