"""Small helpers shared by the built-in model plugins (not a plugin itself)."""

from __future__ import annotations

from typing import Any, Mapping

from automl import Fidelity


def with_resource(params: Mapping[str, Any], fidelity: Fidelity) -> dict[str, Any]:
    """``params`` with the fidelity parameter as an int; its ``high`` when the core did not set it."""
    out = dict(params)
    out[fidelity.param] = int(round(out.get(fidelity.param, fidelity.high)))
    return out


def bounded(value: float, low: int, high: int) -> int:
    """``value`` as an int clipped to ``[low, high]`` (for data-dependent search bounds)."""
    return int(min(max(value, low), high))


#: The boosters' portfolios (``benchmarks/portfolio.py``) have one list for tables of at least
#: this many training rows and one for smaller ones: on the shared datasets the best defaults
#: split there (6,000 rows and below: small trees lead, and regularised ones help; 13,000 and
#: above: the libraries' usual trees; ``benchmarks/results/portfolio_*.md``).
LARGE_TABLE_ROWS = 10_000


def by_table_size(small: tuple, large: tuple):
    """A ``ModelSpec.portfolio``: ``large`` on tables of ``LARGE_TABLE_ROWS`` rows or more, else ``small``."""
    def portfolio(profile) -> tuple:
        return large if profile.n_rows >= LARGE_TABLE_ROWS else small
    return portfolio
