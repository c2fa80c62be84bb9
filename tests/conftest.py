import os

import numpy as np
import pandas as pd
import pytest

os.environ.setdefault("AUTOML_DISABLE_PLUGINS", "")


@pytest.fixture
def mixed_frame():
    """200 rows of every column kind, with a binary target that depends on x0 and cat."""
    rng = np.random.default_rng(0)
    n = 200
    x0 = rng.normal(size=n)
    cat = rng.choice(["red", "green", "blue"], size=n)
    df = pd.DataFrame(
        {
            "x0": x0,
            "x1": rng.normal(size=n),
            "flag": rng.random(n) > 0.5,
            "cat": cat,
            "city": [f"city{i % 40}" for i in range(n)],
            "when": pd.date_range("2020-01-01", periods=n, freq="D").strftime("%Y-%m-%d"),
            "row_id": np.arange(n),
            "const": 7,
            "empty": np.nan,
        }
    )
    df.loc[::10, "x1"] = np.nan
    df.loc[::15, "cat"] = np.nan
    logit = 2 * x0 + (cat == "red") * 1.5
    df["y"] = np.where(logit + rng.normal(scale=0.5, size=n) > 0.5, "yes", "no")
    return df
