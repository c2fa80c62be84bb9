"""Time accounting for one ``fit``: a deadline, per-model cost estimates, a refit reserve.

The clock is injectable so that the arithmetic is tested with a fake clock, never
with wall-clock assertions.
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

#: A lower rung is a cheap probe. One that takes more than SLOW_RUNG_FACTOR times its model's
#: usual time at that rung, and more than SLOW_RUNG_SHARE of the budget, is stopped there
#: (models that train round by round or epoch by epoch honour the limit): the configuration
#: is too slow for this budget. Measured on california_housing at 300 s: two MLP draws (usual
#: rung 0: about 2 s) each trained 60-67 s at rung 0 before being pruned, 40% of the budget.
SLOW_RUNG_FACTOR = 4.0
SLOW_RUNG_SHARE = 0.05
#: A best model whose fit stops in time keeping its best epoch (``ModelSpec.stops_in_time``),
#: validated on a holdout, is refit on all rows cut to the time left when at least this share
#: of its priced refit fits there, rather than served as its one model of the holdout's
#: training rows. The MLP alone at 60 s on california_housing (2 cores): its first default's
#: climb took 31 s and early-stopped at epoch 45 of 60, its refit was priced 44 s with 25 s
#: left; on all rows it early-stopped at epoch 33 after 24 s (R² 0.825, the holdout's model
#: 0.820). The price is of all the epochs; early stopping usually ends the fit well before.
CUT_REFIT_SHARE = 0.5


def refit_basis(cv_seconds: float, unit_seconds: float | None, units: float | None) -> float:
    """The CV seconds that price a trial's refit (``Objective.refit_estimate``): for a model
    continued from rung to rung, its first rung's seconds per unit of resource
    (``unit_seconds``: trained from scratch, as the refit is) times the ``units`` the refit
    trains, as continuing costs more: LightGBM re-predicts its training rows at each rung (on
    letter's 26 classes, rungs of 1.2, 3 and 13 s for 56, 111 and 333 rounds, where 500 rounds
    take 11-14 s in one fit). Not a later rung's: one may train fewer units than it adds (the
    MLP stops after ``patience`` epochs without progress). Else the climb's ``cv_seconds``;
    never more."""
    if unit_seconds is None or not units:
        return cv_seconds
    return min(cv_seconds, unit_seconds * units)


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
    initial_reserve: float = 0.1
    _costs: dict = field(init=False, default_factory=lambda: defaultdict(list))
    best_refit: float | None = field(init=False, default=None)
    best_averaged: bool = field(init=False, default=False)
    best_cut: bool = field(init=False, default=False)

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

    def refit_reserve(self) -> float:
        """Seconds kept for the final refit: ``initial_reserve`` of the budget until a best
        model exists, then the estimate of refitting it (nothing when the best model will be
        its fold models averaged: ``note_best``; all the time left when it will be a refit
        cut to that time)."""
        if self.total is None:
            return 0.0
        if self.best_refit is None:
            return self.initial_reserve * self.total
        if self.best_cut:
            return float("inf")  # all the time left: the search is over
        return 0.0 if self.best_averaged else self.best_refit

    def search_remaining(self) -> float:
        """Seconds the search may still use, keeping the refit reserve and the margin."""
        return self.remaining() - self.refit_reserve() - self.margin

    # ---- cost model -------------------------------------------------------
    def record(self, key: str, seconds: float, rows: int) -> None:
        """Record the time a piece of work (``key``: model and rung) took on ``rows`` rows."""
        self._costs[key].append(seconds / max(rows, 1))

    def estimate(self, key: str, rows: int) -> float | None:
        """Median seconds for ``key`` on ``rows`` rows, from earlier records (None: unknown)."""
        costs = self._costs.get(key)
        if not costs:
            return None
        ordered = sorted(costs)
        return ordered[len(ordered) // 2] * rows

    def note_best(self, refit_seconds: float, has_folds: bool = False, cuttable: bool = False) -> None:
        """The current best model would take about ``refit_seconds`` to refit; ``has_folds``:
        its fold models are kept. When they are and its refit already does not fit in the
        time left, it will be them, averaged (``assemble.refit_best``), and no time is kept
        for that refit: keeping it would only end the search (letter at 60 s, seed 1:
        LightGBM's first default took 24 s on the validation fold, its refit 36.5 s with 35 s
        left; the search stopped after that one trial). Unless ``cuttable`` (a holdout's
        model that stops in time) and ``cuts`` it: then the search ends, the time left goes
        to that refit."""
        self.best_refit = refit_seconds
        over = self.total is not None and refit_seconds > self.remaining() - self.margin
        self.best_cut = over and cuttable and self.cuts(refit_seconds)
        self.best_averaged = has_folds and over and not self.best_cut

    def cuts(self, refit_seconds: float) -> bool:
        """Whether a refit priced ``refit_seconds`` that stops in time is run, cut to the time
        left, rather than replaced by the trial's fold model: ``CUT_REFIT_SHARE`` of it fits."""
        return self.total is not None and CUT_REFIT_SHARE * refit_seconds <= self.remaining() - self.margin

    def probe_limit(self, usual: float | None) -> float | None:
        """Seconds a lower rung whose model usually takes ``usual`` seconds there may take
        (None: no limit but the budget's; also without a budget or an estimate)."""
        if self.total is None or usual is None:
            return None
        return max(SLOW_RUNG_FACTOR * usual, SLOW_RUNG_SHARE * self.total)

    def can_afford(self, seconds: float) -> bool:
        return seconds <= self.search_remaining()
