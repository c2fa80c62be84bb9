"""Data-dependent default configurations (``ModelSpec.portfolio``, issue 23): the search tries
the portfolio for the data in hand first, in its order; a portfolio that misbehaves leaves the
fit to the spec's ``default_params``."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier

from automl import AutoML, ModelSpec, Task
from automl.data.profile import profile_frame
from automl.exceptions import PluginError
from automl.registry import discover


def _space(trial, profile):
    return {"max_depth": trial.suggest_int("max_depth", 1, 8)}


def _build(params, ctx):
    return DecisionTreeClassifier(random_state=0, **params)


class _Plugin:
    def __init__(self, portfolio):
        self.portfolio = portfolio

    def automl_register_models(self):
        return [ModelSpec("toy_tree", frozenset({Task.BINARY}), _space, _build, default_params=({"max_depth": 3},),
                          portfolio=self.portfolio)]


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    df = pd.DataFrame({"a": rng.normal(size=rows), "b": rng.normal(size=rows)})
    df["y"] = (df["a"] + 0.5 * rng.normal(size=rows) > 0).astype(int)
    return df


def _depths(portfolio, rows: int, n_trials: int, caplog=None) -> list[int]:
    aml = AutoML(models=["toy_tree"], plugins=[_Plugin(portfolio)], n_trials=n_trials, time_budget=None, cv=3,
                 isolation="none", verbose=0).fit(_frame(rows), "y")
    board = aml.leaderboard().sort_values("trial")
    return [int(json.loads(p)["max_depth"]) for p in board["params"]]


def _by_rows(profile):
    return ({"max_depth": 1},) if profile.n_rows < 300 else ({"max_depth": 2}, {"max_depth": 5})


def test_the_portfolio_for_the_data_in_hand_is_tried_first_in_its_order():
    assert _depths(_by_rows, 200, n_trials=1) == [1]
    assert _depths(_by_rows, 400, n_trials=2) == [2, 5]


@pytest.mark.parametrize("portfolio", [lambda p: 1 / 0, lambda p: (), lambda p: ({"max_depth": 2}, "deep")],
                         ids=["raises", "empty", "not_a_dict"])
def test_a_portfolio_that_misbehaves_leaves_the_fit_to_default_params(portfolio, caplog):
    with caplog.at_level(logging.WARNING, logger="automl"):
        assert _depths(portfolio, 200, n_trials=1) == [3]
    assert any("toy_tree" in r.getMessage() and "default_params are used instead" in r.getMessage()
               for r in caplog.records)


def test_a_portfolio_must_be_callable():
    with pytest.raises(PluginError, match="portfolio must be callable"):
        ModelSpec("toy_tree", frozenset({Task.BINARY}), _space, _build, portfolio=({"max_depth": 2},))


def test_on_large_tables_the_boosters_whole_portfolios_come_before_the_other_models(monkeypatch):
    import automl.search.session as session

    monkeypatch.setattr(session, "STOPPING_FIRST_ROWS", 300)  # 400 rows: a "large" table here
    df = _frame(400)
    specs, profile = discover().specs, profile_frame(df.drop(columns="y"), 2)
    boosters = sum(len(specs[name].defaults(profile)) for name in ("lightgbm", "xgboost"))
    aml = AutoML(models=["decision_tree", "lightgbm", "xgboost"], n_trials=boosters + 1, time_budget=None, cv=3,
                 isolation="none", verbose=0).fit(df, "y")
    order = aml.leaderboard().sort_values("trial")["model"].tolist()
    assert order[:2] == ["lightgbm", "xgboost"] and order.index("decision_tree") == boosters >= 4
    small = AutoML(models=["decision_tree", "lightgbm"], n_trials=2, time_budget=None, cv=3, isolation="none",
                   verbose=0).fit(_frame(200), "y")
    assert small.leaderboard().sort_values("trial")["model"].tolist() == ["decision_tree", "lightgbm"], \
        "small tables: every model's first default, cheapest first, before any second one"


def test_lightgbm_tries_leaves_with_linear_models_on_regression_only(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.normal(size=(600, 3)), columns=["a", "b", "c"])
    df["y"] = 10 * df["a"] + np.sin(2 * df["b"]) + 0.1 * rng.normal(size=600)  # linear in a: trees need many steps
    aml = AutoML(models=["lightgbm"], n_trials=4, time_budget=None, cv=3, isolation="none", verbose=0).fit(df, "y")
    board = aml.leaderboard().sort_values("trial")
    params = [json.loads(p) for p in board["params"]]
    assert [p.get("linear_tree", False) for p in params] == [False, False, False, True], "the portfolio's last"
    linear, plain = board["score"].iloc[-1], board["score"].iloc[:-1].max()
    assert linear > plain and -linear < 0.5 * -plain, "linear leaves follow a linear target far better"
    assert aml.best_params_.get("linear_tree") is True
    X = df.drop(columns="y").head(50)
    np.testing.assert_allclose(aml.predict(X), df["y"].head(50), atol=1.0)
    aml.save(tmp_path / "linear.automl")  # the leaves' linear models travel with the model file
    np.testing.assert_allclose(AutoML.load(tmp_path / "linear.automl").predict(X), aml.predict(X))
    df["y"] = (df["y"] > 0).astype(int)
    clf = AutoML(models=["lightgbm"], n_trials=4, time_budget=None, cv=3, isolation="none", verbose=0).fit(df, "y")
    assert not any("linear_tree" in p for p in clf.leaderboard()["params"])
