"""The best trial's validation-fold models, averaged: the final model when refitting it
on all rows would overrun the time budget (or, for a network, its refit cut to the time
left averaged with its holdout model: ``assemble.refit_best``).

Each fold pipeline (its fold's preprocessing and model, both fitted during the search) saw
the fold's training rows only; averaging their predictions costs no training at all, at
the price of slightly less data per model and K times the prediction work.
"""

from __future__ import annotations

import numpy as np

from automl.preprocessing.pipeline import predict_scores


class FoldAverage:
    """Mean of fitted fold pipelines' predictions, with the pipeline interface the final
    model uses: ``predict_proba`` (columns = encoded classes ``0..n_classes-1``) and
    ``classes_`` for classification, ``predict`` for regression. The first ``refits``
    pipelines were fitted on all rows, the others on their folds' training rows."""

    def __init__(self, pipelines: list, n_classes: int, refits: int = 0):
        if not pipelines:
            raise ValueError("FoldAverage needs at least one fitted fold pipeline.")
        self.pipelines = list(pipelines)
        self.n_classes = n_classes
        self.refits = refits

    @property
    def classes_(self) -> np.ndarray:
        return np.arange(self.n_classes)

    def predict_proba(self, X) -> np.ndarray:
        if not self.n_classes:
            raise AttributeError("predict_proba is for classification")
        return np.mean([predict_scores(p, X, self.n_classes) for p in self.pipelines], axis=0)

    def predict(self, X) -> np.ndarray:
        if self.n_classes:
            return np.argmax(self.predict_proba(X), axis=1)
        return np.mean([predict_scores(p, X, 0) for p in self.pipelines], axis=0)

    def __repr__(self) -> str:
        refits = getattr(self, "refits", 0)  # (a model file from before it was kept)
        return f"FoldAverage({len(self.pipelines) - refits} fold models" + (f", {refits} refit)" if refits else ")")
