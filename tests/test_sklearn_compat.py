"""AutoML in scikit-learn's own tools, the way users put estimators there: clone, params,
cross-validation with probability scorers, grid search, pipelines, calibration,
permutation importance, scorers, pickling; and scikit-learn's input conventions."""

import pickle
import types

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.calibration import CalibratedClassifierCV
from sklearn.exceptions import NotFittedError
from sklearn.inspection import permutation_importance
from sklearn.metrics import get_scorer, log_loss, roc_auc_score
from sklearn.model_selection import GridSearchCV, cross_val_score, cross_validate
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.validation import check_is_fitted

from automl import AutoML
from automl.exceptions import AutoMLError, DataError

SETTINGS = dict(time_budget=None, n_trials=3, cv=2, verbose=0, infer_limit=None)
CLASSIFIERS = ["logistic_regression", "decision_tree"]


def _aml(**kwargs) -> AutoML:
    return AutoML(**(SETTINGS | {"models": CLASSIFIERS} | kwargs))


@pytest.fixture(scope="module")
def binary():
    """160 rows, 4 numeric columns; the class depends on x0 and x1."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 4))
    y = (X[:, 0] + 0.5 * X[:, 1] + 0.3 * rng.normal(size=160) > 0).astype(int)
    return X, y


@pytest.fixture(scope="module")
def regression():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(150, 3))
    return X, 3 * X[:, 0] - X[:, 2] + 0.1 * rng.normal(size=150)


@pytest.fixture(scope="module")
def fitted(binary):
    X, y = binary
    return _aml().fit(X, y)


def test_clone_and_params():
    plugin = types.ModuleType("my_plugin")  # a module: it cannot be deep-copied
    aml = _aml(plugins=[plugin], n_trials=5)
    copy = clone(aml)
    assert copy is not aml and copy.get_params().keys() == aml.get_params().keys()
    assert copy.n_trials == 5 and copy.models == CLASSIFIERS and copy.models is not aml.models
    assert copy.plugins[0] is plugin, "plugin objects are shared by the clones"
    assert aml.set_params(n_trials=2, seed=4) is aml and (aml.n_trials, aml.seed) == (2, 4)
    with pytest.raises(ValueError, match="Invalid parameter"):
        aml.set_params(n_trails=2)


def test_predict_proba_is_an_array_in_classes_order(fitted, binary):
    X, y = binary
    proba = fitted.predict_proba(X)
    assert isinstance(proba, np.ndarray) and proba.shape == (len(X), 2)
    positive = fitted.predict_proba(X)[:, 1]
    assert roc_auc_score(y, positive) > 0.9
    np.testing.assert_array_equal(fitted.predict(X), fitted.classes_[np.argmax(proba, axis=1)])
    frame = fitted.predict_proba(pd.DataFrame(X, index=range(10, 170)), as_frame=True)
    assert list(frame.columns) == [0, 1] and frame.index[0] == 10
    assert isinstance(fitted.predict(X), np.ndarray)


def test_scorers_score_the_fitted_estimator(fitted, binary, regression):
    X, y = binary
    assert is_classifier(fitted) and not is_regressor(fitted)
    assert get_scorer("roc_auc")(fitted, X, y) == pytest.approx(roc_auc_score(y, fitted.predict_proba(X)[:, 1]))
    assert get_scorer("neg_log_loss")(fitted, X, y) == pytest.approx(-log_loss(y, fitted.predict_proba(X)))
    assert get_scorer("accuracy")(fitted, X, y) > 0.85
    Xr, yr = regression
    reg = AutoML(**SETTINGS, models=["ridge"]).fit(Xr, yr)
    assert is_regressor(reg) and not hasattr(reg, "predict_proba")
    assert get_scorer("r2")(reg, Xr, yr) > 0.95


def test_cross_validation_with_probability_scorers(binary, regression):
    X, y = binary
    auc = cross_val_score(_aml(task="classification"), X, y, cv=3, scoring="roc_auc")
    assert auc.shape == (3,) and auc.min() > 0.85
    both = cross_validate(_aml(), X, y, cv=2, scoring=["roc_auc", "neg_log_loss"])
    assert (both["test_roc_auc"] > 0.85).all() and (both["test_neg_log_loss"] < 0).all()
    Xr, yr = regression
    r2 = cross_val_score(AutoML(**SETTINGS, models=["ridge", "decision_tree"]), Xr, yr, cv=3, scoring="r2")
    assert r2.min() > 0.9


def test_grid_search_over_a_setting(binary):
    X, y = binary
    grid = GridSearchCV(_aml(n_trials=1), {"models": [["logistic_regression"], ["decision_tree"]]}, cv=2,
                        scoring="roc_auc").fit(X, y)
    assert grid.best_params_ == {"models": ["logistic_regression"]}, "the linear model fits a linear boundary"
    assert grid.predict_proba(X).shape == (len(X), 2) and grid.best_estimator_.best_model_name_ == "logistic_regression"


def test_in_a_pipeline_after_a_scaler_and_pickled(binary, tmp_path):
    X, y = binary
    pipe = make_pipeline(StandardScaler(), _aml()).fit(X, y)
    proba = pipe.predict_proba(X)
    assert proba.shape == (len(X), 2) and (pipe.predict(X) == y).mean() > 0.85
    restored = pickle.loads(pickle.dumps(pipe))
    np.testing.assert_array_equal(restored.predict_proba(X), proba)
    np.testing.assert_array_equal(restored.predict(X), pipe.predict(X))


def test_calibrated_classifier(binary):
    X, y = binary
    calibrated = CalibratedClassifierCV(_aml(n_trials=2), cv=2).fit(X, y)
    proba = calibrated.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert roc_auc_score(y, proba[:, 1]) > 0.9


def test_permutation_importance(fitted, binary):
    X, y = binary
    result = permutation_importance(fitted, X, y, scoring="roc_auc", n_repeats=3, random_state=0)
    assert result.importances_mean.shape == (4,)
    assert result.importances_mean.argmax() == 0 and result.importances_mean[0] > 0.1, "x0 drives the class"


def test_fitted_state_follows_scikit_learn(fitted, binary):
    X, y = binary
    with pytest.raises(NotFittedError, match="not fitted"):
        _aml().predict(X)
    with pytest.raises(AutoMLError):
        _aml().predict_proba(X)
    check_is_fitted(fitted)
    assert fitted.n_features_in_ == 4 and not hasattr(fitted, "feature_names_in_")
    assert list(fitted.classes_) == [0, 1]
    named = _aml(n_trials=1).fit(pd.DataFrame(X, columns=list("abcd")), y)
    assert list(named.feature_names_in_) == list("abcd") and named.feature_names_in_.dtype == object


def test_integer_column_names_match_by_name(binary):
    X, y = binary
    aml = _aml(n_trials=1).fit(pd.DataFrame(X), y)  # columns 0..3
    assert not hasattr(aml, "feature_names_in_") and aml.n_features_in_ == 4
    expected = aml.predict_proba(X)
    np.testing.assert_array_equal(aml.predict_proba(pd.DataFrame(X)[[3, 1, 0, 2]]), expected)
    with pytest.warns(UserWarning, match="fitted without feature names"):
        by_position = aml.predict_proba(pd.DataFrame(X, columns=list("abcd")))
    np.testing.assert_array_equal(by_position, expected)


def test_an_array_after_a_frame_is_taken_by_position(binary):
    X, y = binary
    aml = _aml(n_trials=1).fit(pd.DataFrame(X, columns=list("abcd")), y)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        np.testing.assert_array_equal(aml.predict(X), aml.predict(pd.DataFrame(X, columns=list("abcd"))))


def test_bad_inputs_raise_scikit_learns_errors_naming_the_problem(fitted, binary):
    X, y = binary
    with pytest.raises(ValueError, match="Reshape your data"):
        fitted.predict(X[0])
    with pytest.raises(ValueError, match="X has 3 features, but AutoML is expecting 4 features as input"):
        fitted.predict(X[:, :3])
    bad = pd.DataFrame(X, columns=list("abcd")).assign(b=lambda d: d["b"].where(d.index != 5, np.inf))
    with pytest.raises(ValueError, match=r"column 'b' holds infinite values \(inf\) in 1 row\(s\), the first at position 5"):
        _aml().fit(bad, y)
    with pytest.raises(ValueError, match="sparse"):
        _aml().fit(sparse.csr_matrix(X), y)
    cells = X.astype(object)
    cells[3, 2] = {"a": 1}
    with pytest.raises(TypeError, match="column 'x2' holds a dict at position 3"):
        _aml().fit(cells, y)
    with pytest.raises(DataError, match=r"0 feature\(s\)"):
        _aml().fit(np.empty((10, 0)), y[:10])
    with pytest.raises(DataError, match="Unknown label type"):
        _aml(task="classification").fit(X, X[:, 0])
