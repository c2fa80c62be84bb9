"""Stopping a continued rung that scores worse than the one before, on its first folds.

A booster's rungs continue its fold models (56, 167, 500 rounds) and the trial keeps its
best rung. When more rounds overfit, the last rung's whole cost bought nothing: on segment
(1,732 rows, 7 classes, 10 folds) LightGBM's first default spent 13 of its 20 s on rounds
167-500, kept 167, and HistGradientBoosting's default never ran. The rung is compared fold
by fold with the one before on the same validation rows, and stopped once it is worse on
the mean of its first ``gate_folds`` folds (or more): the kept rung's predictions are
untouched, so no score is chosen on fewer rows than before.
"""

from __future__ import annotations

import numpy as np

from automl.search.isolation import SlowRung

#: The folds a rung trains before it is compared: this share of them, at least MIN_FOLDS.
GATE_SHARE = 0.3
MIN_FOLDS = 2


class NoGain(SlowRung):
    """A continued rung scored worse than the one before on its first folds: the
    configuration has stopped gaining, not the budget running out."""


def gate_folds(n_splits: int) -> int:
    """The folds a rung trains before it is compared with the one before (3 folds: 2;
    5: 2; 10: 3)."""
    return max(MIN_FOLDS, round(GATE_SHARE * n_splits))


def check_gain(name: str, k: int, now: list[float], before: list[float] | None, n_splits: int) -> None:
    """Raise ``NoGain`` when rung ``k``'s fold scores ``now`` (greater is better), after at
    least ``gate_folds`` folds and before the last, average below rung ``k - 1``'s on the
    same folds (``before``; None: nothing to compare with). A fold that could not be
    scored (NaN) never stops it."""
    done = len(now)
    if before is None or done < gate_folds(n_splits) or done >= n_splits or len(before) < done:
        return
    mean_now, mean_before = float(np.mean(now)), float(np.mean(before[:done]))
    if np.isfinite(mean_now) and np.isfinite(mean_before) and mean_now < mean_before:
        raise NoGain(f"{name} scored worse at rung {k} than at rung {k - 1} on its first {done} of {n_splits} "
                     f"folds ({mean_now:.6g} vs {mean_before:.6g}): stopped there")


class RungGate:
    """One trial's score on each fold at each rung (``data``: its ``SearchData``), and the
    check after each fold (``add``) that stops a rung worse than the one before."""

    def __init__(self, data) -> None:
        self.data = data
        self.by_rung: dict[int, list[float]] = {}

    def add(self, name: str, k: int, rows: np.ndarray, scores: np.ndarray) -> None:
        """Record rung ``k``'s predictions ``scores`` of one fold's validation ``rows``;
        raise ``NoGain`` when the rung should stop (``check_gain``)."""
        now = self.by_rung.setdefault(k, [])
        try:
            now.append(self.data.metric.score(self.data.y[rows], scores, self.data.task))
        except ValueError:  # e.g. a class missing from the fold: this fold cannot tell
            now.append(float("nan"))
        check_gain(name, k, now, self.by_rung.get(k - 1), len(self.data.splits))
