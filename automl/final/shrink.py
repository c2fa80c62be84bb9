"""Ensemble members refit with fewer of their averaged members when time is short.

A model whose fidelity is ``averaged`` (``Fidelity.averaged``: a forest's trees) is the same
model with fewer of them, only noisier. A candidate of the ensemble whose whole refit on all
rows does not fit in the time left is then priced for a share of its resource instead of
being left out (``shrink_late``), and its refit trains that share (``least_share`` and
``LEAST_SHARE`` bound it).
"""

from __future__ import annotations

from automl.preprocessing.pipeline import at_fidelity
from automl.spec import ModelSpec

#: A member whose fidelity is averaged (a forest's trees) and whose refit does not fit in the
#: time left is refit with fewer of them, but at least this share (``shrink_late``).
LEAST_SHARE = 0.25


def least_share(spec: ModelSpec, params: dict) -> float | None:
    """The least share of its full resource a member of ``spec`` with ``params`` may be refit
    at when time is short: ``LEAST_SHARE``, and never under the fidelity's ``low``; None
    unless its fidelity is averaged (a forest's trees: ``Fidelity.averaged``)."""
    fid = spec.fidelity
    if fid is None or not fid.averaged:
        return None
    full = at_fidelity(spec, params)[fid.param]
    return min(1.0, max(LEAST_SHARE, fid.low / full)) if full > 0 else None


def shrink_late(late: list, pool: list, pipelines: dict, left: float, notes: list[str]) -> list:
    """The ``late`` candidates (``ensemble.Candidate``: their refits take longer than the
    ``left`` seconds) that are still late once those that can train fewer members (``least_share``: a forest's trees)
    are priced for a share of the time: what the other candidates' refits need comes first,
    and the rest is split between them and one more share kept for the unforeseen (a member
    left out for latency, then a second choice). A forest of half its trees is the same
    model, only noisier; left out, it is missing from the ensembles of most forest-led tables
    at 60 s on a 2-core machine. Given all of the time left, it was chosen on vehicle with
    0.4 s left, and the second choice a slow member forced found none (``benchmarks/README.md``)."""
    shrinkable = [c for c in late if c.least_share is not None]
    if not shrinkable:
        return late
    late_trials = {c.trial for c in late}
    others = sum(c.refit_seconds or 0.0 for c in pool if c.trial not in late_trials and c.trial not in pipelines
                 and c.folds is None and not c.bagged)
    each = max(0.0, left - others) / (len(shrinkable) + 1)
    still = [c for c in late if c.least_share is None]
    for c in shrinkable:
        whole = c.refit_seconds / c.share
        share = min(1.0, each / whole) if whole > 0 else 1.0
        if share < c.least_share:
            still.append(c)
            continue
        c.share, c.refit_seconds = share, share * whole
        notes.append(f"trial {c.trial} ({c.model}) is refit at {share:.0%} of its full resource: the whole refit "
                     f"would take about {whole:.1f} s, {max(left, 0):.1f} s left")
    return still
