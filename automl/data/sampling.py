"""Row sampling for the low rungs of successive halving and for ensemble selection."""

from __future__ import annotations

import numpy as np


def subsample(rows: np.ndarray, fraction: float, y: np.ndarray, seed: int) -> np.ndarray:
    """A seeded ``fraction`` of ``rows``, nested across fractions (a larger fraction
    contains every smaller one), keeping at least one row of every class present."""
    if fraction >= 1.0:
        return rows
    order = np.random.default_rng(seed).permutation(len(rows))
    keep = order[: max(2, int(round(fraction * len(rows))))]
    if y.dtype.kind in "iu":  # classification: one row of each class at least
        _, first = np.unique(y[rows], return_index=True)
        keep = np.union1d(keep, first)
    return np.sort(rows[keep])
