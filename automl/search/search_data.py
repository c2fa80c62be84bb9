"""What every trial of a search is evaluated on: the validated, label-encoded data, its
folds and the metric (``SearchData``)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from automl.data.profile import DataProfile
from automl.data.task import Task
from automl.metrics import Metric
from automl.preprocessing.pipeline import predict_scores
from automl.search.cv import Splits, n_folds, n_repeats, validation_rows


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

    @property
    def repeated(self) -> bool:
        """Whether the folds are drawn more than once (``cv_repeats``: small tables)."""
        return n_repeats(self.splits, len(self.y)) > 1

    def folds_text(self) -> str:
        """"5 fold(s)", "a holdout" or "5 fold(s) x 2 repeats", for the log."""
        k, repeats = n_folds(self.splits, len(self.y)), n_repeats(self.splits, len(self.y))
        text = "a holdout" if k == 1 else f"{k} fold(s)"
        return text + (f" x {repeats} repeats" if repeats > 1 else "")

    def score(self, oof: np.ndarray) -> float:
        """The metric on the validation rows ``oof`` predicts (rows left NaN were not
        scored: a large table's lower rungs score a sample, ``fidelity.scoring_rows``)."""
        rows = self.val_rows
        missing = np.isnan(oof[rows]).reshape(len(rows), -1).any(axis=1)
        if missing.any():
            rows = rows[~missing]
        return self.metric.score(self.y[rows], oof[rows], self.task)

    def log_loss(self, oof: np.ndarray) -> float | None:
        """The log loss of classification probabilities ``oof`` on the validation rows."""
        if not self.task.is_classification:
            return None
        rows = self.val_rows
        picked = np.clip(oof[rows, self.y[rows].astype(int)], 1e-15, 1.0)
        return round(float(-np.mean(np.log(picked))), 6)

    def scored_on_all(self, result: tuple, fitted: list) -> tuple:
        """``result`` (a rung's resource, score, OOF predictions, seconds) with the validation
        rows its rung left unscored (``fidelity.scoring_rows``) predicted by its fold models
        ``fitted``, and scored again on all of them."""
        oof = result[2]
        for (_, va), pipeline in zip(self.splits, fitted):
            rows = va[np.isnan(oof[va]).reshape(len(va), -1).any(axis=1)]
            if len(rows):
                oof[rows] = predict_scores(pipeline, self.X.iloc[rows], self.n_classes)
        return result[0], self.score(oof), oof, result[3]
