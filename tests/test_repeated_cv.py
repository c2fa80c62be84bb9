"""Repeated K-fold (``cv_repeats``, issue 23): the folds drawn again, reshuffled, and every
out-of-fold prediction the mean over the draws; ``"auto"`` repeats on small tables only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.dummy import DummyRegressor
from sklearn.model_selection import KFold

from automl import AutoML, ModelSpec, Task
from automl.cli import main
from automl.exceptions import DataError
from automl.search.cv import REPEAT_ROWS, REPEATS, auto_repeats, make_splits, n_folds, n_repeats


def test_each_draw_covers_every_row_once_and_the_first_is_the_plain_folds():
    y = np.random.default_rng(0).integers(0, 2, size=200)
    splits = make_splits(y, Task.BINARY, 5, seed=0, repeats=3)
    assert len(splits) == 15 and n_folds(splits, 200) == 5 and n_repeats(splits, 200) == 3
    for r in range(3):
        assert sorted(np.concatenate([va for _, va in splits[5 * r:5 * r + 5]])) == list(range(200))
    assert len({tuple(va) for _, va in splits}) == 15, "each draw is reshuffled"
    plain = make_splits(y, Task.BINARY, 5, seed=0)
    assert all(np.array_equal(a, b) for (_, a), (_, b) in zip(splits[:5], plain))
    assert n_folds(plain, 200) == 5 and n_repeats(plain, 200) == 1


def test_auto_repeats_only_small_tables_with_time_and_never_a_holdout():
    assert auto_repeats(REPEAT_ROWS, 5, 60) == REPEATS == 2
    assert auto_repeats(REPEAT_ROWS, 5, None) == 1, "without a budget n_trials costs what it did"
    assert auto_repeats(REPEAT_ROWS + 1, 5, 60) == 1
    assert auto_repeats(500, 5, 30) == 1, "a short budget keeps its trials"
    y = np.random.default_rng(0).normal(size=60_000)
    (train, val), = make_splits(y, Task.REGRESSION, "auto", seed=0, repeats=3)
    assert len(val) == 12_000 and n_folds([(train, val)], len(y)) == 1


class _MeanPlugin:
    """A model whose out-of-fold predictions are known: the mean of the fold's training targets."""

    def automl_register_models(self):
        return [ModelSpec("mean", frozenset({Task.REGRESSION}), lambda trial, profile: {},
                          lambda params, ctx: DummyRegressor())]


def _frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(rows)
    return pd.DataFrame({"a": rng.normal(size=rows), "y": rng.normal(size=rows) ** 2})


def _fit(frame, **settings) -> AutoML:
    return AutoML(models=["mean"], plugins=[_MeanPlugin()], n_trials=1, time_budget=None, cv=3, seed=0,
                  isolation="none", verbose=0, **settings).fit(frame, "y")


def test_out_of_fold_predictions_are_the_mean_over_the_draws():
    frame = _frame(60)
    y = frame["y"].to_numpy()
    aml = _fit(frame, cv_repeats=2)
    expected = np.zeros(len(y))
    for r in range(2):
        for tr, va in KFold(3, shuffle=True, random_state=r).split(y):
            expected[va] += y[tr].mean() / 2
    oof = aml.oof_predictions_[aml.best_trial_]
    assert np.allclose(oof, expected)
    once = _fit(frame, cv_repeats=1).oof_predictions_[0]
    assert not np.allclose(once, expected), "one draw alone is not the mean"


def test_a_joined_study_keeps_its_repeats(tmp_path):
    frame, url = _frame(200), f"sqlite:///{tmp_path / 's.db'}"
    first = _fit(frame, cv_repeats=2, storage=url, study_name="s")
    joined = _fit(frame, cv_repeats="auto", storage=url, study_name="s")  # "auto" alone draws once without a budget
    assert np.allclose(joined.oof_predictions_[first.best_trial_], first.oof_predictions_[first.best_trial_])
    assert first.study_.user_attrs["automl_fingerprint"]["settings"]["cv_repeats"] == 2
    with pytest.raises(DataError, match="cv_repeats=2 there, None here"):
        _fit(frame, cv_repeats=1, storage=url, study_name="s")


@pytest.mark.parametrize("value", [0, -1, 1.5, "twice", True])
def test_a_bad_cv_repeats_is_a_one_line_error(value):
    with pytest.raises(DataError, match=r"cv_repeats=.*'auto' or a number of repeats >= 1"):
        _fit(_frame(30), cv_repeats=value)


def test_the_cli_takes_cv_repeats(tmp_path, capsys):
    csv = tmp_path / "t.csv"
    _frame(40).to_csv(csv, index=False)
    assert main(["fit", str(csv), "--target", "y", "--cv-repeats", "0"]) == 2
    assert "--cv-repeats: 'auto' or a number of repeats >= 1 expected, got '0'" in capsys.readouterr().err
    assert "--cv-repeats R" in _help(capsys)


def _help(capsys) -> str:
    assert main(["fit", "--help"]) == 0
    return capsys.readouterr().out
