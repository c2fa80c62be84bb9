"""Successive-halving rungs on a scale shared by every model family.

Every model gets the same number of rungs; rung ``k`` of ``n`` trains at
``high * eta**-(n - 1 - k)`` of the model's own resource (trees, iterations, epochs or
the fraction of training rows), never below the model's ``low``, and the last rung is
the full resource. Rung ``k`` is reported to Optuna at step ``eta**k``, so that the
pruner's rungs (``min_resource=1``) line up across families on one step scale. Which
trials compete at a rung is the pruner's choice (``pruner.py``: the same family).
"""

from __future__ import annotations

from automl.spec import Fidelity

#: Below this many training rows, halving is off: low rungs say nothing on so few rows.
MIN_ROWS_FOR_HALVING = 500
DEFAULT_RUNGS = 3


def n_rungs(n_rows: int, halving: bool, rungs: int = DEFAULT_RUNGS) -> int:
    """How many rungs each trial climbs (1 = straight to the full resource)."""
    if not halving or n_rows < MIN_ROWS_FOR_HALVING:
        return 1
    return rungs


def rung_resources(fidelity: Fidelity | None, rungs: int, eta: int) -> list[float | None]:
    """The resource at each rung: non-decreasing, within ``[low, high]``, ending at ``high``.

    Models without a fidelity train once at full resource (``[None] * rungs``: every
    rung reuses that score). Integer kinds (trees, iterations, epochs) are rounded.
    """
    if fidelity is None:
        return [None] * rungs
    out: list[float] = []
    for k in range(rungs):
        value = max(fidelity.low, fidelity.high * float(eta) ** -(rungs - 1 - k))
        if not fidelity.is_sample_fraction:
            value = float(round(value))
        out.append(min(value, fidelity.high))
    out[-1] = fidelity.high
    return out


def rung_step(k: int, eta: int) -> int:
    """The Optuna step at which rung ``k`` is reported."""
    return int(eta**k)


def describe(fidelity: Fidelity | None, resource: float | None) -> str:
    """``"n_estimators=33"``, ``"rows=33%"`` or ``"full"`` for the leaderboard."""
    if fidelity is None or resource is None:
        return "full"
    if fidelity.is_sample_fraction:
        return f"rows={resource:.0%}"
    return f"{fidelity.param}={int(resource)}"
