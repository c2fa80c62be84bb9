"""Out-of-fold predictions and helpers the ensemble and final-model tests share."""

import numpy as np

from automl.final.ensemble import Candidate, build_ensemble
from automl.metrics import resolve_metric
from automl.search.budget import Budget
from automl.data.task import Task

AUC = resolve_metric("roc_auc", Task.BINARY)


def _proba(p1):
    return np.column_stack([1 - p1, p1])


def _complementary(n=600, seed=0):
    """Two models, each seeing one half of the signal: their blend beats both."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    y = (a + b + 0.3 * rng.normal(size=n) > 0).astype(int)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    return y, _proba(sigmoid(2 * a)), _proba(sigmoid(2 * b)), _proba(sigmoid(2 * rng.normal(size=n)))


def _noisier(p, seed=1):
    """A noisier copy of ``p``'s probabilities (a faster, weaker model of the same signal)."""
    return _proba(np.clip(p[:, 1] + 0.2 * np.random.default_rng(seed).normal(size=len(p)), 0.01, 0.99))


def _same_skill(n=600, seed=6):
    """Two models with the same skill (the signal plus a shared error), each with a little
    noise of its own, one a bit noisier: any gain of their blend is noise. Best first."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    y = (z + rng.normal(size=n) > 0).astype(int)
    shared = 0.5 * rng.normal(size=n)
    sigmoid = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    pa, pb = (_proba(sigmoid(2 * (z + shared + s * rng.normal(size=n)))) for s in (0.15, 0.2))
    return (y, pa, pb) if AUC.score(y, pa, Task.BINARY) >= AUC.score(y, pb, Task.BINARY) else (y, pb, pa)


class _Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _build(candidates, y, budget=None, refit=None, latency=None):
    return build_ensemble(candidates, "best-pipeline", y, AUC, Task.BINARY, 2, 0, budget or Budget(None),
                          refit or (lambda trial: f"pipeline-{trial}"), latency)


def _candidates(y, *preds, refit_seconds=None):
    return [Candidate(i, f"model{i}", AUC.score(y, p, Task.BINARY), p, refit_seconds) for i, p in enumerate(preds)]


def assert_predicts_alike(aml, X, path, rows: int = 5) -> np.ndarray:
    """A fitted ``aml`` predicts its first ``rows`` rows one at a time as it does together
    (the fast path), and the same after a save and load at ``path``; returns its probabilities."""
    from automl import AutoML

    proba = aml.predict_proba(X)
    one = np.vstack([aml.predict_proba(X.iloc[[i]]) for i in range(rows)])
    np.testing.assert_allclose(one, proba[:rows], atol=1e-9)
    aml.save(path)
    np.testing.assert_allclose(AutoML.load(path).predict_proba(X), proba)
    return proba
