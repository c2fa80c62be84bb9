"""Tiny data and the core's way of building a model, for the contract checks.

Everything here does what the search does (the same profile, preprocessing and
``BuildContext``), on a few hundred rows, so that a check that passes here means the
model works inside a search.
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
import optuna
import pandas as pd
from sklearn.datasets import make_classification, make_regression
from sklearn.pipeline import Pipeline

from automl.preprocessing.pipeline import at_fidelity, build_pipeline
from automl.data.profile import DataProfile, profile_frame
from automl.trial import NamespacedTrial
from automl.spec import BuildContext, ModelSpec
from automl.data.task import Task

#: Rows of the tiny datasets the checks fit on.
N_ROWS = 200


def make_data(task: Task, n_rows: int = N_ROWS, seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """Five numeric columns (``x0`` with NaN) and a string categorical ``color`` (with
    NaN); the target is learnable: class indices 0..K-1 (2 or 3 classes) or values."""
    rng = np.random.default_rng(seed)
    if task is Task.REGRESSION:
        X, y = make_regression(n_rows, 5, n_informative=4, noise=5.0, random_state=seed)
    else:
        k = 2 if task is Task.BINARY else 3
        X, y = make_classification(n_rows, 5, n_informative=4, n_redundant=0, n_classes=k, random_state=seed)
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["color"] = rng.choice(["red", "green", "blue"], n_rows)
    frame.loc[rng.choice(n_rows, n_rows // 16, replace=False), "x0"] = np.nan
    frame.loc[rng.choice(n_rows, n_rows // 32, replace=False), "color"] = None
    return frame, pd.Series(y)


def n_classes(task: Task, y: pd.Series) -> int:
    return 0 if task is Task.REGRESSION else int(y.nunique())


def context(task: Task, y: pd.Series) -> BuildContext:
    """The build context of a search on ``y`` (one thread, seed 0, on the CPU)."""
    return BuildContext(task=task, random_state=0, n_jobs=1, device="cpu", n_classes=n_classes(task, y))


def profile(X: pd.DataFrame, task: Task, y: pd.Series) -> DataProfile:
    return profile_frame(X, n_classes(task, y))


def low_resource(spec: ModelSpec) -> float | None:
    """The lowest value of the fidelity parameter, or None (no fidelity parameter)."""
    fid = spec.fidelity
    return fid.low if fid is not None and fid.param else None


def at_low_fidelity(spec: ModelSpec, params: Mapping[str, Any]) -> dict:
    """``params`` plus the fidelity parameter at its lowest value, as the core adds it."""
    return at_fidelity(spec, params, low_resource(spec)) if low_resource(spec) is not None else dict(params)


def fit_pipeline(spec: ModelSpec, task: Task, params: Mapping[str, Any], X: pd.DataFrame, y: pd.Series) -> Pipeline:
    """The core's pipeline (preprocessing for the spec's flags + the model at its lowest
    fidelity), fitted on ``X``, ``y``."""
    pipe = build_pipeline(spec, params, profile(X, task, y), context(task, y), low_resource(spec))
    return pipe.fit(X, y)


def sample_params(spec: ModelSpec, data_profile: DataProfile, n: int = 4, seed: int = 0) -> list[tuple[dict, dict]]:
    """``n`` (returned params, suggested trial params) pairs from a seeded random-sampler
    study, the space called on the namespaced trial the core passes. The suggested
    params keep their namespace (``"<name>__alpha"``)."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    out = []
    for _ in range(n):
        trial = study.ask()
        params = spec.search_space(NamespacedTrial(trial, spec.name), data_profile)
        out.append((params, dict(trial.params)))
    return out


def replay_params(spec: ModelSpec, suggested: Mapping[str, Any], data_profile: DataProfile):
    """The space's result on an ``optuna.trial.FixedTrial`` holding ``suggested``."""
    fixed = optuna.trial.FixedTrial(dict(suggested))
    return spec.search_space(NamespacedTrial(fixed, spec.name), data_profile)
