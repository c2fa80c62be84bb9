"""How many threads one model fit may use.

On small data, OpenMP threads cost more than they save: every boosting iteration
opens several parallel regions, and a thread that waits for a busy core at each
barrier stalls the others. Measured on a 2-core machine with another process
running: HistGradientBoosting on 2,000 rows took 0.15 s with one thread and 0.8-8.7 s
with two; at 40,000 rows two threads gained 1.4x. Fits on fewer rows than
``SMALL_DATA_ROWS`` therefore use one thread, larger ones ``n_jobs``.
"""

from __future__ import annotations

import contextlib
import os
import warnings
from typing import Iterator

from threadpoolctl import threadpool_limits

SMALL_DATA_ROWS = 10_000


def resolve_n_jobs(n_jobs: int | None) -> int:
    """``n_jobs`` as a thread count (``None`` and ``-1``: every core)."""
    if n_jobs in (None, -1):
        return os.cpu_count() or 1
    return max(1, int(n_jobs))


def threads_for(n_rows: int, n_jobs: int) -> int:
    """Threads for a fit on ``n_rows`` rows, at most ``n_jobs``."""
    return 1 if n_rows < SMALL_DATA_ROWS else max(1, n_jobs)


@contextlib.contextmanager
def fit_threads(n_threads: int) -> Iterator[None]:
    """Around one fit: OpenMP/BLAS threads limited to ``n_threads``, and the process's
    warning filters restored afterwards. scikit-learn's joblib wrapper resets and refills
    ``warnings.filters`` in every worker thread, which is not thread-safe before Python
    3.14: HistGradientBoosting's threaded binning could leave the process with no filters
    at all, and every later warning (hundreds, from joblib) reached the user."""
    with threadpool_limits(n_threads), warnings.catch_warnings():
        yield
