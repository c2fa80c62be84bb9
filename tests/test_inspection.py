"""Feature importances on the user's columns, the plain-language summary and the plot."""

import sys

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.inspection.explain import describe_effect


def _planted(n, seed):
    """``signal`` decides the class; ``noise`` is pure noise; ``colour`` (one-hot for the
    linear model) and ``day`` (date parts) matter a little; ``row_id`` and ``const`` are dropped."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    df = pd.DataFrame({
        "signal": signal,
        "noise": rng.normal(size=n),
        "colour": colour,
        "day": pd.date_range("2021-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
        "row_id": np.arange(seed * n, (seed + 1) * n),
        "const": 1.0,
    })
    logit = 3 * signal + 0.7 * (colour == "red")
    df["y"] = np.where(logit + rng.logistic(size=n) > 0, "pos", "neg")
    return df


@pytest.fixture(scope="module")
def planted_fit():
    train, test = _planted(600, 0), _planted(600, 1)
    aml = AutoML(time_budget=None, n_trials=4, models=["logistic_regression", "lightgbm"], cv=3, seed=0, verbose=0)
    return aml.fit(train, "y"), test


def test_importances_on_held_out_data_rank_the_planted_columns(planted_fit):
    aml, test = planted_fit
    imp = aml.feature_importances(test, n_repeats=5)
    assert list(imp.columns) == ["importance", "std", "ci_low", "ci_high", "rank", "note", "conditioned_on"]
    assert imp.index.name == "feature" and sorted(imp.index) == sorted(aml.feature_names_in_), "one row per column"
    assert imp.index[0] == "signal" and imp.loc["signal", "rank"] == 1 and imp.loc["signal", "ci_low"] > 0.1
    assert imp.loc["noise", "ci_low"] <= 0 <= imp.loc["noise", "ci_high"], "pure noise: the interval contains 0"
    used = imp.dropna(subset=["importance"])
    assert (used["ci_low"] <= used["importance"]).all() and (used["std"] >= 0).all()
    assert imp.loc["row_id", "note"].startswith("dropped before modelling: id-like")
    assert imp.loc[["row_id", "const"], "importance"].isna().all() and imp.index[-2:].tolist() == ["row_id", "const"]
    assert imp.attrs["baseline_score"] == pytest.approx(aml.score(test))
    assert imp.attrs["null_score"] == pytest.approx(0.5) and imp.attrs["n_rows"] == 600
    small = aml.feature_importances(test, "y", n_repeats=2, max_rows=100)
    assert small.attrs["n_rows"] == 100 and small.attrs["n_repeats"] == 2


def test_a_column_tied_to_another_is_shuffled_among_rows_alike_in_it():
    """``twin`` copies ``signal`` up to noise: shuffled over all rows it looks important
    (the model splits on either), shuffled among rows alike in ``signal`` it adds little."""
    from automl.inspection.permutation import partners, permutation_drops, strata, shuffled

    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"signal": rng.normal(size=1000), "other": rng.normal(size=1000)})
    frame["twin"] = frame["signal"] + rng.normal(scale=0.05, size=1000)
    assert partners(frame, ["signal", "other", "twin"]) == {"signal": "twin", "twin": "signal"}
    groups = strata(frame["signal"])
    assert len(np.unique(groups)) == 20 and np.bincount(groups).min() == 50
    mostly_missing = frame["signal"].where(np.arange(1000) < 200)  # 200 values, 800 NaN
    labels = strata(mostly_missing)
    assert (labels[200:] == -1).all() and np.bincount(labels[:200]).min() >= 40, "bins of the values present"
    flags = strata(pd.Series(np.arange(1000) % 2))
    assert set(flags) == {0, 1} and (flags == np.arange(1000) % 2).all(), "few values: the values are the groups"
    moved = shuffled(frame["twin"].to_numpy(), groups, rng)
    assert sorted(moved) == sorted(frame["twin"]) and not np.array_equal(moved, frame["twin"].to_numpy())
    target = (frame["signal"] + frame["twin"]) / 2

    def score(part):  # a model that averages the twins
        return -float(np.mean(((part["signal"] + part["twin"]) / 2 - target) ** 2))

    _, marginal = permutation_drops(score, frame, ["twin"], 3, 0)
    _, conditional = permutation_drops(score, frame, ["twin"], 3, 0, {"twin": groups})
    assert conditional.mean() < 0.1 * marginal.mean()


def test_conditional_importances_name_the_partner_and_marginal_ones_do_not(planted_fit):
    aml, test = planted_fit
    frame = test.copy()
    frame["noise"] = frame["signal"] * 0.9 + 0.1 * frame["noise"]  # tie noise to signal
    cond = aml.feature_importances(frame, n_repeats=3)
    assert cond.attrs["method"] == "conditional"
    assert cond.loc["noise", "conditioned_on"] == "signal" and cond.loc["signal", "conditioned_on"] == "noise"
    marg = aml.feature_importances(frame, n_repeats=3, method="marginal")
    assert (marg["conditioned_on"].fillna("") == "").all() and marg.index[0] == "signal"
    with pytest.raises(Exception, match="method must be one of"):
        aml.feature_importances(frame, method="shap")


def test_without_data_importances_are_measured_out_of_fold(planted_fit, recwarn):
    aml, _ = planted_fit
    imp = aml.feature_importances()
    assert not [w for w in recwarn if "optimistic" in str(w.message)], "no row is scored by a model that saw it"
    assert imp.index[0] == "signal" and "out of fold" in imp.attrs["data"] and imp.attrs["n_rows"] == 600
    assert imp.loc["noise", "ci_low"] <= 0 <= imp.loc["noise", "ci_high"], "pure noise: the interval contains 0"
    pd.testing.assert_frame_equal(aml.feature_importances(), imp)  # cached: no second computation
    with pytest.raises(ValueError, match="n_repeats"):
        aml.feature_importances(n_repeats=1)


def test_out_of_fold_importances_give_an_overfitting_model_no_credit_for_noise():
    """A deep tree fits the noise of its training rows: measured on them (in-sample), the
    noise column matters; measured out of fold, it does not."""
    train = _planted(600, 0)
    aml = AutoML(time_budget=None, n_trials=1, models=["decision_tree"], cv=3, seed=0, verbose=0).fit(train, "y")
    assert aml.best_params_.get("max_depth") is None, "the default: an unbounded tree"
    in_sample = aml.feature_importances(train)
    assert in_sample.loc["noise", "ci_low"] > 0, "the refit tree uses the noise of the rows it saw"
    oof = aml.feature_importances()
    assert oof.index[0] == "signal" and oof.loc["noise", "ci_low"] <= 0 <= oof.loc["noise", "ci_high"]


def test_without_fold_models_the_kept_sample_is_used_with_a_warning_or_data_is_asked_for(tmp_path):
    from automl.exceptions import DataError

    train = _planted(300, 0)
    kept = AutoML(time_budget=None, n_trials=2, models=["logistic_regression"], cv=3, verbose=0,
                  keep_training_sample=True).fit(train, "y")
    assert len(kept.train_sample_) == 300 and list(kept.train_sample_.columns)[-1] == "y"
    kept.save(tmp_path / "kept.automl")
    loaded = AutoML.load(tmp_path / "kept.automl")  # no fold models after loading
    with pytest.warns(UserWarning, match="optimistic"):
        imp = loaded.feature_importances()
    assert imp.index[0] == "signal" and "in-sample" in imp.attrs["data"]
    bare = AutoML(time_budget=None, n_trials=2, models=["logistic_regression"], cv=3, verbose=0).fit(train, "y")
    assert bare.train_sample_ is None
    bare.save(tmp_path / "bare.automl")
    with pytest.raises(DataError, match=r"keeps none .* pass data: feature_importances\(X, y\)"):
        AutoML.load(tmp_path / "bare.automl").feature_importances()
    assert AutoML.load(tmp_path / "bare.automl").feature_importances(train).index[0] == "signal"


def test_explain_names_what_matters_what_does_not_and_the_direction(planted_fit):
    aml, test = planted_fit
    text = aml.explain(test)
    lines = text.splitlines()
    top = next(line for line in lines if line.startswith("Most important:"))
    assert top.split(":")[1].strip().startswith("signal (drop") and "of the skill" in top
    idle = next(line for line in lines if line.startswith("Do not matter"))
    assert "noise" in idle and "signal" not in idle
    assert "Not used (dropped before modelling): row_id, const." in lines
    assert "- higher signal → higher probability of 'pos' (" in text
    assert "measured on 600 rows of the data given" in text


def test_describe_effect_shapes():
    grid = np.array([1.0, 2.0, 3.0, 4.0])
    rising = describe_effect("x", grid, np.array([0.1, 0.2, 0.19, 0.4]), "p")
    assert rising.startswith("higher x → higher p (0.1 at 1")
    assert describe_effect("x", grid, np.array([5e4, 4e4, 3e4, 1e4]), "y").startswith("higher x → lower y (50,000")
    peak = describe_effect("x", grid, np.array([0.1, 0.5, 0.2, 0.1]), "p")
    assert "non-monotonic" in peak and "highest (0.5) near x = 2" in peak


def test_plot_importances(planted_fit, tmp_path):
    pytest.importorskip("matplotlib")
    aml, test = planted_fit
    fig = aml.plot_importances(tmp_path / "imp.png", top=3, X=test)
    assert (tmp_path / "imp.png").stat().st_size > 1000
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "signal" and len(labels) == 3


def test_plot_without_matplotlib_says_how_to_install(planted_fit, monkeypatch):
    aml, test = planted_fit
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        aml.plot_importances(X=test)


def test_the_validation_summary_of_boolean_classes():
    """Classes False/True are labels, not a mask over the frame's columns (kc1's target)."""
    from automl.data.task import Task
    from automl.inspection.out_of_fold import summarize_validation, validation_frame

    oof = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4]])
    frame = validation_frame(oof, np.arange(3), np.array([0, 1, 1]), np.array([False, True]))
    summary = summarize_validation(frame, Task.BINARY)
    assert summary["labels"] == ["False", "True"] and summary["accuracy"] == 2 / 3
    assert summary["confusion_matrix"] == [[1, 0], [1, 1]]
