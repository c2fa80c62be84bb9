"""Time accounting for one ``fit``: a deadline, per-model cost estimates, a refit reserve.

The clock is injectable so that the arithmetic is tested with a fake clock, never
with wall-clock assertions.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Budget:
    """``total`` seconds (None: no limit) counted from construction.

    ``margin`` is kept free at the end for bookkeeping after the refit. The search
    must stop early enough to leave ``refit_reserve()`` for refitting the best model.
    """

    total: float | None
    clock: Callable[[], float] = time.monotonic
    margin_fraction: float = 0.03
    min_margin: float = 0.5
    start: float = field(init=False)
    _fold_costs: dict = field(init=False, default_factory=lambda: defaultdict(list))
    best_refit: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.start = self.clock()

    @property
    def margin(self) -> float:
        if self.total is None:
            return 0.0
        return max(self.min_margin, self.margin_fraction * self.total)

    def elapsed(self) -> float:
        return self.clock() - self.start

    def remaining(self) -> float:
        """Seconds left before the deadline (inf without a budget)."""
        if self.total is None:
            return float("inf")
        return self.total - self.elapsed()

    def search_remaining(self) -> float:
        """Seconds the search may still use, keeping the refit reserve and the margin."""
        return self.remaining() - self.best_refit - self.margin

    # ---- cost model -------------------------------------------------------
    def record_fold(self, model: str, seconds: float, rows: int) -> None:
        """Record one fold's fit+predict time on ``rows`` training rows."""
        self._fold_costs[model].append(seconds / max(rows, 1))

    def estimate_fold(self, model: str, rows: int) -> float | None:
        """Median seconds per fold for ``model`` on ``rows`` rows, from earlier folds."""
        costs = self._fold_costs.get(model)
        if not costs:
            return None
        ordered = sorted(costs)
        return ordered[len(ordered) // 2] * rows

    def note_best(self, refit_seconds: float) -> None:
        """The current best model would take about ``refit_seconds`` to refit."""
        self.best_refit = refit_seconds

    def can_afford(self, seconds: float) -> bool:
        return seconds <= self.search_remaining()
