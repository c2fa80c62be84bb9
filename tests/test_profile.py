import numpy as np
import pandas as pd

from automl.data.profile import Role, profile_column, profile_frame


def test_roles(mixed_frame):
    profile = profile_frame(mixed_frame.drop(columns="y"))
    roles = {c.name: c.role for c in profile.columns}
    assert roles == {
        "x0": Role.NUMERIC,
        "x1": Role.NUMERIC,
        "flag": Role.BOOLEAN,
        "cat": Role.CATEGORICAL,
        "city": Role.HIGH_CARDINALITY,
        "when": Role.DATETIME,
        "row_id": Role.ID,
        "const": Role.CONSTANT,
        "empty": Role.CONSTANT,
    }
    assert set(profile.dropped) == {"row_id", "const", "empty"}
    assert "missing" in profile.dropped["empty"]
    assert profile.column("x1").n_missing == 20


def test_free_text_and_string_ids():
    words = np.array(["good", "bad", "service", "slow", "fast", "food", "very", "not"])
    rng = np.random.default_rng(0)
    text = pd.Series([" ".join(rng.choice(words, 6)) + f" {i}" for i in range(100)], name="review")
    assert profile_column(text).role is Role.TEXT
    ids = pd.Series([f"ID-{i:05d}" for i in range(100)], name="key")
    assert profile_column(ids).role is Role.ID


def test_numbers_are_not_dates():
    assert profile_column(pd.Series(["20110101", "20110102"] * 20, name="n")).role is not Role.DATETIME
    assert profile_column(pd.Series(["2011-01-01 10:00", "2011-03-02 11:30"] * 20, name="d")).role is Role.DATETIME


def test_titanic_profile():
    from automl.datasets import load

    data = load("titanic")
    profile = profile_frame(data.frame.drop(columns=data.target))
    assert profile.column("PassengerId").role is Role.ID
    assert profile.column("Name").role is Role.TEXT
    assert profile.column("Sex").role is Role.CATEGORICAL
    assert profile.column("Ticket").role is Role.HIGH_CARDINALITY
    assert profile.column("Age").n_missing == 177
