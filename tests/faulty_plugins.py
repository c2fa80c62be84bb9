"""Plugins whose models misbehave, for tests/test_faulty_plugins.py: each is an object with
``automl_register_models`` (pass it in ``AutoML(plugins=[...])``), a third-party plugin to
the search (its module is not ``automl_plugins``), so its trials run in the worker process
under ``isolation="auto"``."""

from __future__ import annotations

import ctypes
import os

import numpy as np
from sklearn.dummy import DummyClassifier

from automl import ModelSpec, Task

TASKS = frozenset({Task.BINARY, Task.MULTICLASS})
#: A hog that gets this far was not stopped: it gives up rather than take the machine down.
SAFETY_BYTES = 3 * 2**30


class FitRaises(DummyClassifier):
    def fit(self, X, y):
        raise RuntimeError("boom in fit")


class NaNPredictions(DummyClassifier):
    def predict_proba(self, X):
        return np.full((len(X), len(self.classes_)), np.nan)


class InfPredictions(DummyClassifier):
    def predict_proba(self, X):
        out = np.full((len(X), len(self.classes_)), 0.5)
        out[::3, 0] = np.inf
        return out


class PredictRaises(DummyClassifier):
    def predict_proba(self, X):
        raise ValueError("boom in predict")


class Hangs(DummyClassifier):
    """A native call that never returns and never looks at the search's clock (as a C
    extension's loop): the search's in-process checks cannot stop it."""

    def fit(self, X, y):
        libc = ctypes.CDLL(None)
        while True:
            libc.sleep(3600)


def _machine_bytes() -> int:
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


class EatsMemory(DummyClassifier):
    """Asks for four times the machine's memory, 64 MB at a time, touching every page."""

    def fit(self, X, y):
        chunks, total = [], 0
        while total < 4 * _machine_bytes():
            if total >= SAFETY_BYTES:
                raise RuntimeError(f"SAFETY: allocated {total >> 20} MB and nobody stopped me")
            chunks.append(np.ones(2**23))  # 64 MB
            total += chunks[-1].nbytes
        return super().fit(X, y)


class Plugin:
    """One model, ``name``, whose estimator is ``estimator`` (default parameters only)."""

    def __init__(self, name: str, estimator: type, cost: float = 0.1):
        self.name, self.estimator, self.cost = name, estimator, cost

    def build(self, params, ctx):
        return self.estimator(**params)

    def automl_register_models(self):
        return [ModelSpec(self.name, TASKS, _space, self.build, default_params=({},), cost=self.cost)]


def _space(trial, profile):
    return {"strategy": trial.suggest_categorical("strategy", ["prior", "stratified", "uniform", "most_frequent"])}


FAULTY = {
    "fit_raises": FitRaises,
    "nan_predictions": NaNPredictions,
    "inf_predictions": InfPredictions,
    "predict_raises": PredictRaises,
    "hangs": Hangs,
    "eats_memory": EatsMemory,
}
