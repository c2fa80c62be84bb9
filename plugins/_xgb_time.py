"""An XGBoost training callback that stops adding rounds once the fit has used its time.

Imported by the XGBoost plugin's ``build`` only (this module needs xgboost). The
boosting loop checks it after every round, so a fit given ``BuildContext.time_limit``
ends within a round of its limit instead of overrunning the budget.
"""

from __future__ import annotations

import time

from xgboost.callback import TrainingCallback


class StopAtTimeLimit(TrainingCallback):
    """Stop boosting after ``seconds`` of training (counted from the start of each fit)."""

    def __init__(self, seconds: float):
        super().__init__()
        self.seconds = seconds
        self._deadline = float("inf")

    def before_training(self, model):
        self._deadline = time.perf_counter() + self.seconds
        return model

    def after_iteration(self, model, epoch, evals_log) -> bool:
        return time.perf_counter() >= self._deadline
