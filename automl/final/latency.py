"""Latency trimming: the time each member takes to predict one row, against the limit."""

from __future__ import annotations

import time

import numpy as np

from automl.preprocessing.pipeline import predict_scores


class Latency:
    """Seconds to predict one row with each member pipeline, measured on ``row`` (the
    median of a few calls after a warm-up), against ``limit`` for the whole ensemble."""

    def __init__(self, row, n_classes: int, limit: float, calls: int = 5):
        self.row, self.n_classes, self.limit, self.calls = row, n_classes, limit, calls
        self.seconds: dict[int, float] = {}

    def of(self, trial: int, pipeline) -> float:
        if trial not in self.seconds:
            predict_scores(pipeline, self.row, self.n_classes)
            times = []
            for _ in range(self.calls):
                t0 = time.perf_counter()
                predict_scores(pipeline, self.row, self.n_classes)
                times.append(time.perf_counter() - t0)
            self.seconds[trial] = float(np.median(times))
        return self.seconds[trial]

    def over_limit(self, members: list, pipelines: dict, best: int, notes: list[str]) -> list:
        """The slowest member other than ``best`` when the members together are too slow
        (``members``: the ensemble's candidates, ``pipelines``: their fitted pipelines by trial)."""
        total = sum(self.of(c.trial, pipelines[c.trial]) for c in members)
        others = [c for c in members if c.trial != best]
        if total <= self.limit or not others:
            return []
        slowest = max(others, key=lambda c: self.seconds[c.trial])
        notes.append(f"left out trial {slowest.trial} ({slowest.model}, {1000 * self.seconds[slowest.trial]:.0f} ms "
                     f"a row): the ensemble took {1000 * total:.0f} ms to predict one row, over the "
                     f"{1000 * self.limit:.0f} ms limit")
        return [slowest]
