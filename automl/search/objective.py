"""The Optuna objective: pick a model, draw its parameters, cross-validate, score.

Each trial records in its user attributes what the leaderboard shows: the model's
parameters (as the model sees them), fit time, folds done, status and error.
Out-of-fold predictions of the best trials are kept in memory for the final model
and the ensemble.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np
import optuna
import pandas as pd
from threadpoolctl import threadpool_limits

from automl.metrics import Metric
from automl.pipeline import build_pipeline, predict_scores
from automl.profile import DataProfile
from automl.search.budget import Budget
from automl.search.cv import Splits, validation_rows
from automl.search.space import MODEL_PARAM, NamespacedTrial
from automl.spec import BuildContext, ModelSpec
from automl.task import Task

log = logging.getLogger(__name__)

#: Out-of-fold predictions are kept for this many of the best trials.
KEEP_OOF = 20
DEFAULT_ATTR = "default_config"


class _OutOfTime(Exception):
    pass


@dataclass
class SearchData:
    """What every trial is evaluated on (already validated and label-encoded)."""

    X: pd.DataFrame
    y: np.ndarray
    task: Task
    profile: DataProfile
    splits: Splits
    metric: Metric
    n_classes: int = 0
    val_rows: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.val_rows = validation_rows(self.splits)


def jsonable(params: dict) -> dict:
    """Parameters as plain JSON types (numpy scalars become Python numbers)."""
    return {k: (v.item() if isinstance(v, np.generic) else v) for k, v in params.items()}


class Objective:
    """Callable for ``study.optimize``; returns the CV score (greater is better)."""

    def __init__(self, data: SearchData, specs: dict[str, ModelSpec], budget: Budget, seed: int, n_jobs: int):
        self.data = data
        self.specs = specs
        self.budget = budget
        self.seed = seed
        self.n_jobs = n_jobs
        self.oof: dict[int, np.ndarray] = {}
        self._scores: dict[int, float] = {}

    def context(self) -> BuildContext:
        return BuildContext(task=self.data.task, random_state=self.seed, n_jobs=self.n_jobs, n_classes=self.data.n_classes)

    def params_for(self, trial, spec: ModelSpec) -> dict:
        """The enqueued default configuration, or a draw from the spec's search space."""
        index = trial.user_attrs.get(DEFAULT_ATTR)
        if index is not None:
            return dict(spec.default_params[int(index)])
        return dict(spec.search_space(NamespacedTrial(trial, spec.name), self.data.profile))

    def __call__(self, trial: optuna.Trial) -> float:
        name = trial.suggest_categorical(MODEL_PARAM, sorted(self.specs))
        spec = self.specs[name]
        started = time.perf_counter()
        try:
            params = self.params_for(trial, spec)
            trial.set_user_attr("params", jsonable(params))
            oof, fold_time = self._cross_validate(spec, params)
        except _OutOfTime as exc:
            trial.set_user_attr("status", "stopped")
            trial.set_user_attr("error", str(exc))
            raise optuna.TrialPruned(str(exc)) from None
        except Exception as exc:  # a model that fails is recorded; the search goes on
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}")
            trial.set_user_attr("fit_time", round(time.perf_counter() - started, 3))
            log.warning("Trial %d (%s) failed: %s: %s", trial.number, name, type(exc).__name__, exc)
            return float("nan")
        score = self.data.metric.score(self.data.y[self.data.val_rows], oof[self.data.val_rows], self.data.task)
        trial.set_user_attr("status", "ok")
        trial.set_user_attr("fit_time", round(fold_time, 3))
        self._keep(trial.number, score, oof, fold_time)
        return score

    def _cross_validate(self, spec: ModelSpec, params: dict) -> tuple[np.ndarray, float]:
        d = self.data
        shape = (len(d.y), d.n_classes) if d.n_classes else (len(d.y),)
        oof = np.full(shape, np.nan)
        total = 0.0
        for tr, va in d.splits:
            estimate = self.budget.estimate_fold(spec.name, len(tr))
            if self.budget.search_remaining() <= 0 or (estimate is not None and not self.budget.can_afford(estimate)):
                raise _OutOfTime(
                    f"not enough time left for {spec.name}"
                    + (f" (a fold takes about {estimate:.1f} s)" if estimate is not None else "")
                )
            pipe = build_pipeline(spec, params, d.profile, self.context())
            t0 = time.perf_counter()
            with threadpool_limits(self.n_jobs):  # OpenMP/BLAS threads stay within n_jobs
                pipe.fit(d.X.iloc[tr], d.y[tr])
                oof[va] = predict_scores(pipe, d.X.iloc[va], d.n_classes)
            elapsed = time.perf_counter() - t0
            self.budget.record_fold(spec.name, elapsed, len(tr))
            total += elapsed
        return oof, total

    def _keep(self, number: int, score: float, oof: np.ndarray, fold_time: float) -> None:
        """Keep the OOF predictions of the best trials; update the refit reserve."""
        if not self._scores or score > max(self._scores.values()):
            n_folds = len(self.data.splits)
            train_rows = len(self.data.splits[0][0])
            per_fold = fold_time / n_folds
            self.budget.note_best(1.2 * per_fold * len(self.data.y) / max(train_rows, 1))
        self._scores[number] = score
        self.oof[number] = oof
        if len(self.oof) > KEEP_OOF:
            worst = min(self.oof, key=self._scores.__getitem__)
            del self.oof[worst]
