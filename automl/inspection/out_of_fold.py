"""Out-of-fold rows: the best trial's validation-fold models and the rows each did not see.

Feature importances without data are measured on them, the way AutoGluon measures a
bagged model: every row is predicted by the fold model that was validated on it, never
by one trained on it, so an overfitting model's noise columns get no credit. They are
kept in memory after ``fit`` only (at most ``MAX_ROWS`` rows): a model file holds no
training rows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.preprocessing.pipeline import predict_scores

#: Validation rows kept in memory after fit (a seeded sample).
MAX_ROWS = 10_000


class RefitFolds:
    """The best trial's fold pipelines when the search did not keep them (too large, see
    ``search.memory.KEEP_FOLDS_BYTES``, or trained by another process): each refit on its
    fold's training rows the first time it is asked for (``fit_fold(i)``), then kept."""

    def __init__(self, fit_fold, n_folds: int):
        self.fit_fold, self.n_folds, self._fitted = fit_fold, n_folds, {}

    def __len__(self) -> int:
        return self.n_folds

    def __getitem__(self, i: int):
        if not 0 <= i < self.n_folds:
            raise IndexError(i)
        if i not in self._fitted:
            self._fitted[i] = self.fit_fold(i)
        return self._fitted[i]

    def __iter__(self):
        return (self[i] for i in range(self.n_folds))


@dataclass
class OutOfFold:
    """``pipelines[i]`` is fold ``i``'s fitted pipeline; row ``r`` of ``X`` (the training
    columns) and ``y`` (encoded target) was in fold ``fold[r]``'s validation rows."""

    pipelines: list
    X: pd.DataFrame
    y: np.ndarray
    fold: np.ndarray
    n_classes: int
    trial: int | None = None
    model: str = ""

    @classmethod
    def from_search(cls, pipelines: list, X: pd.DataFrame, y: np.ndarray, splits, n_classes: int, seed: int,
                    trial: int | None = None, model: str = "") -> "OutOfFold":
        fold = np.full(len(y), -1)
        for i, (_, va) in enumerate(splits):
            va = va[fold[va] < 0]  # repeated folds (cv_repeats): each row's fold of the first draw
            fold[va] = i
        rows = np.flatnonzero(fold >= 0)
        if len(rows) > MAX_ROWS:
            rows = np.sort(np.random.default_rng(seed).choice(rows, size=MAX_ROWS, replace=False))
        pipelines = pipelines if isinstance(pipelines, RefitFolds) else list(pipelines)
        return cls(pipelines, X.iloc[rows].reset_index(drop=True), np.asarray(y)[rows], fold[rows], n_classes,
                   trial, model)

    def predict(self, X: pd.DataFrame, fold: np.ndarray) -> np.ndarray:
        """Class probabilities (columns 0..K-1) or values for the rows of ``X``, each from
        the model of its ``fold``."""
        out = None
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*feature names.*")
            for i in range(len(self.pipelines)):  # (a fold without rows is not refit: RefitFolds)
                rows = np.flatnonzero(fold == i)
                if len(rows):
                    scores = predict_scores(self.pipelines[i], X.iloc[rows], self.n_classes)
                    if out is None:
                        out = np.empty((len(X), *scores.shape[1:]))
                    out[rows] = scores
        return out


def validation_frame(oof: np.ndarray | None, rows: np.ndarray, y: np.ndarray, classes) -> pd.DataFrame | None:
    """The best trial's out-of-fold predictions on its validation ``rows`` with the truth:
    ``y_true`` (decoded by ``classes``; None for regression) plus one column per class, or
    ``y_pred``. None without predictions."""
    if oof is None:
        return None
    if classes is not None:
        frame = pd.DataFrame(oof[rows], columns=list(classes), index=rows)
        frame.insert(0, "y_true", classes[y[rows]])
        return frame
    return pd.DataFrame({"y_true": y[rows], "y_pred": oof[rows]}, index=rows)


def summarize_validation(frame: pd.DataFrame | None, task) -> dict | None:
    """Out-of-fold metrics of ``validation_frame``'s predictions: rows and accuracy with the
    confusion matrix (classification), or RMSE, MAE and R² (regression). Only counts and
    scores: a model file keeps this summary, not the rows."""
    if frame is None or len(frame) == 0:
        return None
    if task.is_classification:
        # by position: a list of classes such as [False, True] would index the frame as a mask
        classes = [i for i, c in enumerate(frame.columns) if not (isinstance(c, str) and c == "y_true")]
        labels = [frame.columns[i] for i in classes]
        proba = frame.iloc[:, classes].to_numpy(dtype=float)
        pred = np.asarray(labels, dtype=object)[np.argmax(proba, axis=1)]
        truth = frame["y_true"].to_numpy(dtype=object)
        keys = [str(c) for c in labels]
        matrix = pd.crosstab(pd.Series(truth).astype(str), pd.Series(pred).astype(str)).reindex(
            index=keys, columns=keys, fill_value=0
        )
        return {
            "rows": len(frame),
            "accuracy": float(np.mean(pred.astype(str) == truth.astype(str))),
            "labels": keys,
            "confusion_matrix": matrix.to_numpy().tolist(),
        }
    y, p = frame["y_true"].to_numpy(dtype=float), frame["y_pred"].to_numpy(dtype=float)
    resid = y - p
    ss_tot = float(np.sum((y - y.mean()) ** 2))
    return {
        "rows": len(frame),
        "rmse": float(np.sqrt(np.mean(resid**2))),
        "mae": float(np.mean(np.abs(resid))),
        "r2": None if ss_tot == 0 else 1 - float(np.sum(resid**2)) / ss_tot,
    }
