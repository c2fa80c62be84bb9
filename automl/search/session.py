"""Setting a search up: the data as every trial sees it, the models and the metric
(:func:`prepare`), then the study it runs in, new or joined (:func:`open_search`).

Everything a trial is evaluated on derives from the data and the settings alone (the
label encoding, the column profile, the folds: seeded), so every process that joins a
study with the same data and settings evaluates trials on the same folds; the study's
fingerprint (``fingerprint.py``) refuses one that does not.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import optuna
import pandas as pd
from sklearn.preprocessing import LabelEncoder

from automl.data.inputs import split_xy
from automl.data.profile import DataProfile, profile_frame
from automl.data.task import Task, TaskDecision, check_classes, resolve_task
from automl.exceptions import DataError, SearchError
from automl.metrics import Metric, resolve_metric
from automl.registry import Registry, discover
from automl.search import fingerprint
from automl.search.budget import Budget
from automl.search.cv import make_splits, n_folds, n_repeats
from automl.search.fidelity import for_budget, n_rungs, row_fractions
from automl.search.isolation import Trainer
from automl.search.objective import Objective
from automl.search.search_data import SearchData
from automl.search.store import make_results, open_storage
from automl.search.defaults import STOPPING_FIRST_ROWS, enqueue_defaults
from automl.search.study import make_pruner, make_study
from automl.spec import ModelSpec

log = logging.getLogger(__name__)


@dataclass
class Prepared:
    """The validated inputs of a search, before the folds."""

    X: pd.DataFrame
    y: np.ndarray  # label-encoded (classification) or float
    target: str
    decision: TaskDecision
    classes: np.ndarray | None
    profile: DataProfile
    specs: dict[str, ModelSpec]
    skipped: dict[str, str]
    registry: Registry
    metric: Metric

    @property
    def task(self) -> Task:
        return self.decision.task

    @property
    def n_classes(self) -> int:
        return 0 if self.classes is None else len(self.classes)


def prepare(X, y, *, task: str | None, metric: str | None, models: Sequence[str] | None,
            exclude_models: Sequence[str], disable_plugins: Sequence[str], plugins: Sequence[Any]) -> Prepared:
    """Split ``X``/``y``, detect the task, encode the target, profile the columns, and
    choose the models and the metric (raises ``DataError``/``SearchError`` in one line)."""
    features, target, target_name = split_xy(X, y)
    decision = resolve_task(target, task)
    classes = None
    if decision.task.is_classification:
        check_classes(target)
        encoder = LabelEncoder()
        try:
            y_enc = encoder.fit_transform(target.to_numpy())
        except TypeError:  # mixed types: compare as text
            y_enc = encoder.fit_transform(target.astype(str).to_numpy())
        classes = encoder.classes_
    else:
        y_enc = pd.to_numeric(target, errors="raise").to_numpy(dtype=float)
    features.columns = list(features.columns.astype(str))
    profile = profile_frame(features, n_classes=0 if classes is None else len(classes))
    if profile.n_features == 0:
        raise DataError(f"No usable feature column: every column was dropped ({profile.dropped}).")
    for name, why in profile.dropped.items():
        log.info("Column %r dropped: %s.", name, why)
    log.info("Task: %s (%s).", decision.task.value, decision.reason)
    registry = discover(disabled=disable_plugins, plugins=plugins)
    chosen, skipped = registry.select(decision.task, len(features), models=models, exclude=exclude_models)
    for name, why in sorted(skipped.items()):
        log.info("Model %r skipped: %s.", name, why)
    if not chosen:
        raise SearchError(f"No model can be searched for this {decision.task.value} task: {skipped}.")
    return Prepared(features, y_enc, target_name, decision, classes, profile, {s.name: s for s in chosen},
                    skipped, registry, resolve_metric(metric, decision.task, registry.metrics))


def open_search(p: Prepared, budget: Budget, *, storage: Any, study_name: str | None, artifacts: Any,
                cv: int | str, cv_repeats: int | str, seed: int, time_budget: float | None, halving: bool, halving_eta: int,
                n_jobs: int, trainer: Trainer | None = None) -> tuple[optuna.Study, SearchData, Objective]:
    """The study (new, or joined when ``storage`` holds ``study_name``), the data on its
    folds and the objective. A joined study must have been searched on the same data
    with the same settings; with ``cv="auto"`` (``cv_repeats="auto"``) it keeps the folds
    (repeats) it was started with. The objective's specs have their fidelity grown for
    ``time_budget`` and the rows (``fidelity.for_budget``): use those, not ``p.specs``, after this."""
    rungs = n_rungs(len(p.y), halving)
    study = make_study(open_storage(storage), study_name, seed, make_pruner(rungs, halving_eta))
    known = fingerprint.recorded(study)
    if known is not None and cv == "auto":
        cv = known["settings"].get("cv", cv)
    if known is not None and cv_repeats == "auto":
        cv_repeats = known["settings"].get("cv_repeats", 1)
    splits = make_splits(p.y, p.task, cv, seed, time_budget, cv_repeats)
    row_rungs = row_fractions(max(len(tr) for tr, _ in splits), halving and rungs > 1, halving_eta)
    data = SearchData(p.X, p.y, p.task, p.profile, splits, p.metric, p.n_classes)
    settings = {"task": p.task.value, "metric": p.metric.name, "cv": n_folds(splits, len(p.y)), "seed": seed,
                "halving": bool(halving), "halving_eta": int(halving_eta), "models": sorted(p.specs)}
    if (repeats := n_repeats(splits, len(p.y))) > 1:  # (absent when 1: studies of earlier versions still join)
        settings["cv_repeats"] = repeats
    fingerprint.check(study, fingerprint.fingerprint(p.X, p.y, settings))
    specs = {name: for_budget(spec, time_budget, len(p.y)) for name, spec in p.specs.items()}
    objective = Objective(data, specs, budget, seed, n_jobs, rungs, halving_eta,
                          results=make_results(storage, artifacts, data.val_rows),
                          trainer=trainer, memory_limit=None if trainer is None else trainer.memory_limit,
                          row_rungs=row_rungs)
    finished = objective.resume(study)
    if finished:
        log.info("Joined study %r: %d finished trial(s) already, not trained again.", study.study_name, finished)
    enqueue_defaults(study, list(specs.values()), profile=p.profile,
                     stopping_first=row_rungs is not None or p.profile.n_rows >= STOPPING_FIRST_ROWS)
    return study, data, objective
