"""Prediction time: each member's time to predict one row, against the limit, and the
leaderboard's times to predict one row and a batch of rows."""

from __future__ import annotations

import math
import time
from typing import Callable

import numpy as np
import pandas as pd

from automl.final.fast_path import FastPath
from automl.final.fold_models import FoldAverage
from automl.preprocessing.pipeline import predict_scores

#: Rows of the batch whose prediction time the leaderboard shows (``predict_1000_ms``).
BATCH_ROWS = 1000
#: The batch is predicted up to 3 times (the median is kept) while the calls take less than this.
BATCH_SECONDS = 0.2


class Latency:
    """Seconds to predict one row with each member pipeline, measured on ``row`` (the
    median of a few calls after a warm-up) through the fast path (``fast_path``), as the
    final model predicts few rows, against ``limit`` for the whole ensemble
    (None: measured only, for the leaderboard)."""

    def __init__(self, row, n_classes: int, limit: float | None, calls: int = 5):
        self.row, self.n_classes, self.limit, self.calls = row, n_classes, limit, calls
        self.seconds: dict[int, float] = {}

    def of(self, trial: int, pipeline) -> float:
        if trial not in self.seconds:
            self.seconds[trial] = self._measure(pipeline)
        return self.seconds[trial]

    def _measure(self, pipeline, calls: int | None = None) -> float:
        predict = self._predictor(pipeline)
        times = []
        for _ in range(calls or self.calls):
            t0 = time.perf_counter()
            predict()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    def _predictor(self, pipeline) -> Callable[[], object]:
        """One row through the fast path, as the final model predicts it (the pipeline when
        the fast path fails: so does the final model); called once as a warm-up."""
        fast = FastPath([pipeline], self.n_classes)
        try:
            fast.member_scores(self.row)
            return lambda: fast.member_scores(self.row)
        except Exception:  # noqa: BLE001 - timed as the final model would predict
            predict_scores(pipeline, self.row, self.n_classes)
            return lambda: predict_scores(pipeline, self.row, self.n_classes)

    def total(self, members: list, pipelines: dict) -> float:
        """Seconds to predict one row with all ``members`` (their pipelines by trial)."""
        return sum(self.of(c.trial, pipelines[c.trial]) for c in members)

    def over_limit(self, members: list, pipelines: dict, best: int, notes: list[str]) -> list:
        """The slowest member other than ``best`` when the members together are too slow
        (``members``: the ensemble's candidates, ``pipelines``: their fitted pipelines by trial)."""
        total = self.total(members, pipelines)
        others = [c for c in members if c.trial != best]
        if self.limit is None or total <= self.limit or not others:
            return []
        slowest = max(others, key=lambda c: self.seconds[c.trial])
        notes.append(f"left out trial {slowest.trial} ({slowest.model}, {1000 * self.seconds[slowest.trial]:.0f} ms "
                     f"a row): the ensemble took {1000 * total:.0f} ms to predict one row, over the "
                     f"{1000 * self.limit:.0f} ms limit")
        return [slowest]

    def thin_best(self, members: list, pipelines: dict, best: int, notes: list[str]) -> bool:
        """When the members together are too slow and the best model (trial ``best``) is fold
        models averaged, keep fewer of them, down to half (rounded up), if that alone brings
        one row within the limit: ``pipelines[best]`` becomes the first ones averaged. False
        (nothing changed) otherwise. A chosen member is worth more than the last fold models
        of a bag (vehicle at 300 s: the mixture classifier that carried the stacker, 2 ms a
        row, was left out beside an MLP of 5 fold models, 10.6 ms, at 15.0 ms in all)."""
        bag = pipelines.get(best)
        if (self.limit is None or not isinstance(bag, FoldAverage) or len(bag.pipelines) < 2
                or best not in {c.trial for c in members}):
            return False
        total = self.total(members, pipelines)
        if total <= self.limit:
            return False
        each = self.seconds[best] / len(bag.pipelines)
        keep = int((self.limit - (total - self.seconds[best])) / each) if each > 0 else len(bag.pipelines)
        if keep >= len(bag.pipelines) or keep < -(-len(bag.pipelines) // 2):
            return False
        pipelines[best] = FoldAverage(bag.pipelines[:keep], bag.n_classes)
        self.seconds[best] = keep * each
        notes.append(f"trial {best} keeps {keep} of its {len(bag.pipelines)} fold models: with all of them "
                     f"the ensemble took {1000 * total:.0f} ms to predict one row, over the "
                     f"{1000 * self.limit:.0f} ms limit")
        return True

    def average_seconds(self, fits: list) -> float:
        """Seconds a row for fold models ``fits`` averaged: the first's time (3 calls) times
        their number (timing titanic's five 10-fold averages whole took about 2 s)."""
        return len(fits) * self._measure(fits[0], calls=3)

    def affordable(self, fits: list, step: int) -> list:
        """The first fold models of ``fits``, whole draws of the folds (``step`` models each),
        as many as, averaged, predict one row within the limit (timed as ``average_seconds``):
        all of them without a limit, none when one draw is already too slow."""
        if self.limit is None:
            return fits
        one = self.average_seconds(fits[:1])
        fit = len(fits) if one <= 0 else int(self.limit / one)
        return fits[:min(len(fits), fit // step * step)]

    def too_slow_beside(self, best: int, best_pipeline, folds: dict) -> dict[int, float]:
        """Trial → seconds a row, for the trials among ``folds`` (trial → its fold pipelines)
        whose fold models averaged, with the best model (trial ``best``) alone, already take
        longer than the limit: no ensemble can keep them as such. An average is timed as its
        first fold model's time (3 calls) times their number, as fold models are alike; the
        times are not kept (a member's final pipeline may still be its refit)."""
        if self.limit is None or not folds:
            return {}
        base = self.of(best, best_pipeline)
        seconds = {trial: self.average_seconds(fits) for trial, fits in folds.items()}
        return {trial: s for trial, s in seconds.items() if base + s > self.limit}


def predict_times(pipelines: dict, X: pd.DataFrame, n_classes: int, latency: Latency,
                  time_left: Callable[[], float]) -> dict[int, tuple[float, float]]:
    """Trial → (milliseconds to predict one row, to predict ``BATCH_ROWS`` rows) for each
    pipeline refit on all rows (``pipelines``: trial → pipeline; ``X``: training rows,
    repeated up to the batch size). One row is timed as ``latency`` times it (reused when
    already measured). A time is NaN when ``time_left()`` (seconds) cannot cover it: one
    row needs 1 s left, the batch 20 one-row times plus 0.5 s (a batch row costs far less
    than a single row, whose time is mostly per-call overhead)."""
    batch = X.iloc[np.arange(BATCH_ROWS) % len(X)] if len(X) else X
    times = {}
    for trial, pipeline in pipelines.items():
        one = many = math.nan
        if trial in latency.seconds or time_left() > 1.0:
            one = latency.of(trial, pipeline)
            if len(batch) and time_left() > 20 * one + 0.5:
                many = _median_seconds(lambda: predict_scores(pipeline, batch, n_classes))
        times[trial] = (1000 * one, 1000 * many)
    return times


def _median_seconds(call: Callable[[], object], max_calls: int = 3) -> float:
    spent, times = 0.0, []
    while len(times) < max_calls and (not times or spent < BATCH_SECONDS):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
        spent += times[-1]
    return float(np.median(times))
