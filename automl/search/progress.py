"""A one-line progress display on stderr: trials done, best score so far, time left."""

from __future__ import annotations

import sys
import time

import optuna

from automl.search.budget import Budget
from automl.trial import MODEL_PARAM


class Progress:
    """Optuna callback. Redraws one line on a terminal; elsewhere prints a line now and then."""

    def __init__(self, budget: Budget, metric: str, n_trials: int | None, stream=None, every: float = 10.0):
        self.budget = budget
        self.metric = metric
        self.n_trials = n_trials
        self.stream = stream if stream is not None else sys.stderr
        self.every = every
        self._done = 0
        self._last = 0.0
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def line(self, study: optuna.Study) -> str:
        total = f"/{self.n_trials}" if self.n_trials else ""
        parts = [f"[automl] trials {self._done}{total}"]
        try:
            best = study.best_trial
            parts.append(f"best {self.metric} {best.value:.5g} ({best.params.get(MODEL_PARAM)})")
        except ValueError:  # no completed trial yet
            parts.append("no finished trial yet")
        left = self.budget.remaining()
        if left != float("inf"):
            parts.append(f"{max(left, 0):.0f} s left")
        return " | ".join(parts)

    def __call__(self, study: optuna.Study, trial) -> None:
        self._done += 1
        now = time.monotonic()
        if self._tty:
            self.stream.write("\r" + self.line(study).ljust(79))
            self.stream.flush()
        elif now - self._last >= self.every:
            self._last = now
            self.stream.write(self.line(study) + "\n")

    def close(self, study: optuna.Study) -> None:
        if self._tty:
            self.stream.write("\r" + self.line(study).ljust(79) + "\n")
            self.stream.flush()
