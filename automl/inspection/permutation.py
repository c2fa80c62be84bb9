"""Shuffling columns for permutation importance: marginal or conditional.

Marginal permutation (scikit-learn's ``permutation_importance``) shuffles a column
over all rows. When the column is strongly tied to another one, that creates rows
that do not exist (a longitude out at sea for its latitude), and the model's
answers there inflate the column's importance (Hooker & Mentch, 2019). Conditional
permutation (Strobl et al., 2008; Molnar et al., 2021, "conditional subgroups")
shuffles the column only among rows alike in its most dependent column, so it
measures what the column adds beyond that partner. A column with no partner at
least ``DEPENDENCE`` strong (absolute Spearman correlation) is shuffled over all rows:
then both methods are the same.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import pandas as pd

METHODS = ("conditional", "marginal")
#: Absolute Spearman correlation from which a numeric column is shuffled within bins of
#: its most dependent numeric partner.
DEPENDENCE = 0.5
#: Rows per bin of the partner column (at most ``MAX_BINS`` bins).
ROWS_PER_BIN = 50
MAX_BINS = 20


def partners(frame: pd.DataFrame, numeric: Sequence[str], threshold: float = DEPENDENCE) -> dict[str, str]:
    """Each numeric column's most dependent other numeric column, where that
    dependence (absolute Spearman correlation) reaches ``threshold``."""
    cols = [c for c in numeric if c in frame.columns]
    if len(cols) < 2:
        return {}
    corr = frame[cols].apply(pd.to_numeric, errors="coerce").rank().corr().abs()
    out = {}
    for c in cols:
        others = corr[c].drop(c).dropna()
        if len(others) and others.max() >= threshold:
            out[c] = str(others.idxmax())
    return out


def strata(values: pd.Series) -> np.ndarray:
    """Group labels of ``values``: its own values when it has at most as many distinct
    ones as bins, else quantile bins of about ``ROWS_PER_BIN`` rows (at most
    ``MAX_BINS``); NaN rows form a group of their own (-1)."""
    numbers = pd.to_numeric(values, errors="coerce")
    n_bins = int(min(MAX_BINS, max(2, numbers.count() // ROWS_PER_BIN)))
    if numbers.nunique() <= n_bins:
        codes, _ = pd.factorize(numbers)  # NaN: -1
        return codes.astype(int)
    bins = pd.qcut(numbers, n_bins, labels=False, duplicates="drop")
    return bins.fillna(-1).to_numpy().astype(int)


def shuffled(values: np.ndarray, groups: np.ndarray | None, rng: np.random.Generator) -> np.ndarray:
    """``values`` permuted over all rows, or within each group of ``groups``."""
    if groups is None:
        return values[rng.permutation(len(values))]
    out = values.copy()
    for g in np.unique(groups):
        rows = np.flatnonzero(groups == g)
        out[rows] = values[rng.permutation(rows)]
    return out


def permutation_drops(
    score: Callable[[pd.DataFrame], float],
    X: pd.DataFrame,
    columns: Sequence[str],
    n_repeats: int,
    seed: int,
    groups: dict[str, np.ndarray] | None = None,
) -> tuple[float, np.ndarray]:
    """The score of ``X`` and, per column, the drop of ``score`` over ``n_repeats``
    shuffles (array ``len(columns) x n_repeats``); ``groups[c]``: shuffle ``c`` within them."""
    groups = groups or {}
    rng = np.random.default_rng(seed)
    base = score(X)
    drops = np.empty((len(columns), n_repeats))
    for i, col in enumerate(columns):
        values = X[col].to_numpy()
        part = X.copy()
        for r in range(n_repeats):
            part[col] = pd.Series(shuffled(values, groups.get(col), rng), index=X.index).astype(X[col].dtype)
            drops[i, r] = base - score(part)
    return base, drops
