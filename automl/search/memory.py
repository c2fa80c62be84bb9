"""Memory per trial: the limit (``AutoML(memory_limit=...)``) and what a trial is predicted
to need.

The limit bounds each trial. A trial predicted to need more is not trained (skipped, with
the prediction in the leaderboard); a trial run in a worker process (``isolation.py``)
that goes over it is stopped there (the worker's data segment is capped with
``RLIMIT_DATA``) and recorded as failed. A trial run in this process cannot be stopped
safely (native code may abort on a failed allocation), so for it only the prediction
applies.

The prediction is deliberately simple: ``rows x (columns x 8 bytes x factor + per_row) +
fixed``, the rows and columns being a fold's training rows after preprocessing. ``factor``
is how many float64 copies of the training matrix a model holds at its peak; ``per_row``
what it keeps per training row whatever the columns (a forest's nodes); ``fixed`` what it
takes on any data (an SVM's kernel cache, PyTorch's buffers). The built-in numbers come
from ``benchmarks/memory_factors.py`` (peak resident memory of a fresh process fitting each
model's default configuration on 5,000 x 40 random floats and predicting a fifth of them,
minus its peak before the fit; ``benchmarks/results/memory_factors.md``), rounded up; a
model not in the table gets ``DEFAULT``, a spec may carry its own as ``memory_cost``.
"""

from __future__ import annotations

import os
import re

#: The share of the memory available when the fit starts that one trial may use by default.
DEFAULT_SHARE = 0.5
#: Per model: (float64 copies of the matrix, bytes per row, fixed MB); see the module docstring.
FACTORS = {
    "logistic_regression": (2, 0, 50), "ridge": (2, 0, 50), "elastic_net": (2, 0, 50),
    "decision_tree": (2, 0, 50), "random_forest": (2, 8_000, 50), "extra_trees": (2, 20_000, 50),
    "lightgbm": (4, 0, 50), "xgboost": (4, 0, 50), "hist_gradient_boosting": (6, 0, 50),
    "knn": (3, 0, 50), "svm": (4, 0, 250), "gaussian_mixture": (4, 0, 50), "mlp": (6, 0, 150),
}
DEFAULT = (10, 0, 50)
_UNITS = {"": 2**20, "b": 1, "k": 2**10, "kb": 2**10, "m": 2**20, "mb": 2**20, "g": 2**30, "gb": 2**30, "t": 2**40, "tb": 2**40}


def proc_bytes(path: str, field: str) -> int | None:
    """A ``kB`` field of a Linux ``/proc`` file in bytes (``MemAvailable`` of ``/proc/meminfo``,
    ``VmData`` of ``/proc/self/status``), or None where there is none."""
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def available_bytes() -> int | None:
    """Memory the machine has available now (``MemAvailable``; else the physical memory)."""
    available = proc_bytes("/proc/meminfo", "MemAvailable")
    if available is not None:
        return available
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def parse_limit(value) -> int | None:
    """``memory_limit`` in bytes: None (no limit), "auto" (``DEFAULT_SHARE`` of the memory
    available now), a number of megabytes, or a string with a unit ("512MB", "4GB").
    Raises ``ValueError`` with one line for anything else."""
    if value is None:
        return None
    if isinstance(value, str):
        if value == "auto":
            available = available_bytes()
            return None if available is None else int(DEFAULT_SHARE * available)
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", value)
        if not match or match.group(2).lower() not in _UNITS:
            raise ValueError(f"memory_limit must be 'auto', None, a number of megabytes or a size such as '4GB', got {value!r}.")
        number, unit = float(match.group(1)), _UNITS[match.group(2).lower()]
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        number, unit = float(value), _UNITS[""]
    else:
        raise ValueError(f"memory_limit must be 'auto', None, a number of megabytes or a size such as '4GB', got {value!r}.")
    if not number > 0:
        raise ValueError(f"memory_limit must be positive, got {value!r}.")
    return int(number * unit)


def predicted_bytes(model: str, rows: int, columns: int, cost: tuple | None = None) -> int:
    """Bytes a trial of ``model`` is predicted to need on ``rows`` x ``columns`` (after
    preprocessing); ``cost`` = (factor, bytes per row, fixed MB) overrides the table."""
    factor, per_row, fixed_mb = FACTORS.get(model, DEFAULT) if cost is None else cost
    return int(rows * (columns * 8 * factor + per_row) + fixed_mb * 2**20)


def human(n: float) -> str:
    """``n`` bytes for a message: "1.5 GB", "300 MB"."""
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def too_big(spec, rows: int, columns: int, limit: int) -> str | None:
    """Why a trial of ``spec`` on ``rows`` x ``columns`` is not trained under ``limit``
    bytes, or None when it is predicted to fit."""
    need = predicted_bytes(spec.name, rows, columns, getattr(spec, "memory_cost", None))
    if need <= limit:
        return None
    return (f"predicted to need about {human(need)} on {rows} rows x {columns} columns, over "
            f"memory_limit ({human(limit)}); not trained")


def fitted_bytes(obj, _depth: int = 0, _seen: set | None = None) -> int:
    """Bytes of the arrays a fitted model (pipeline, list of them) holds, estimated without
    copying it: numpy arrays, scikit-learn trees (nodes and values), and the attributes,
    lists and dicts that hold them, a few levels deep. Models kept in native libraries
    (LightGBM, XGBoost, CatBoost boosters) count for nothing: they are small at this scale."""
    import numpy as np

    seen = set() if _seen is None else _seen
    if id(obj) in seen or _depth > 10:
        return 0
    seen.add(id(obj))
    if isinstance(obj, np.ndarray):
        return obj.nbytes if obj.base is None else 0  # a view's memory is its base's
    if hasattr(obj, "node_count") and hasattr(obj, "value"):  # sklearn.tree._tree.Tree
        return int(obj.node_count) * 64 + int(obj.value.nbytes)
    if isinstance(obj, (str, bytes, int, float, bool, type(None))):
        return 0
    if isinstance(obj, dict):
        items = obj.values()
    elif isinstance(obj, (list, tuple, set)):
        items = obj
    elif hasattr(obj, "__dict__"):
        items = vars(obj).values()
    else:
        return 0
    return sum(fitted_bytes(item, _depth + 1, seen) for item in items)


#: Allocations from this size on get pages of their own (``mmap``), returned when freed.
MMAP_THRESHOLD = 2**20


def map_large_allocations() -> None:
    """Give the C heap's large blocks (from ``MMAP_THRESHOLD`` bytes) their own pages, for the
    rest of the process (glibc ``mallopt(M_MMAP_THRESHOLD)``; elsewhere, or where the user
    set ``MALLOC_MMAP_THRESHOLD_``, nothing).

    By default glibc raises the threshold each time such a block is freed, up to 32 MB, so the
    models' and PyTorch's temporary buffers of a few MB stay in the heap once freed, which
    keeps them. Measured on adult at 60 s (``benchmarks/README.md``): peak RSS 594 -> 552 MB.
    """
    mallopt = _libc("mallopt")
    if mallopt is not None and "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        mallopt(-3, MMAP_THRESHOLD)  # M_MMAP_THRESHOLD


def release_freed_memory() -> None:
    """Give the C heap's freed pages back to the system (glibc ``malloc_trim``; elsewhere
    nothing). The models of a finished trial are freed, but glibc keeps their pages
    mapped in its arenas, so each later trial's peak would start from the highest so far."""
    trim = _libc("malloc_trim")
    if trim is not None:
        trim(0)


def _libc(name: str):
    """glibc's function ``name`` (looked up once), or None where there is no glibc."""
    if name not in _LIBC:
        try:
            import ctypes

            _LIBC[name] = getattr(ctypes.CDLL("libc.so.6"), name)
        except (OSError, AttributeError):
            _LIBC[name] = None
    return _LIBC[name]


_LIBC: dict = {}
