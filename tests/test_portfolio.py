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
from automl.exceptions import PluginError


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
