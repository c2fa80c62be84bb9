"""Each validation fold's preprocessing, fitted once per kind and shared by the trials.

The preprocessing of a model depends only on the data profile, the task and four
flags of its spec (``handles_missing``, ``needs_scaling``, ``handles_categorical``,
``target_encoding``),
never on its hyperparameters. So every trial of every model with the same flags would
refit the same transformers on the same fold; on small, wide data that refit (one-hot
and target encoding) costs far more than the model (ames_housing: ~60% of the search).
Here each (fold, kind) is fitted on the fold's training rows once and the transformed
training and validation rows are kept. Nothing leaks: a fold's transformers still see
only that fold's training rows, as the full pipeline's would.

Kept frames are bounded by ``max_bytes``; past it, a fold is prepared again each time, and
on large data only for the rows a rung trains on: a rung on 4% of 640,000 rows fitted its
one-hot encoder's counts on all of them (~2 s a string column) to train on 25,600.
On large data (more than ``fidelity.ROW_RUNGS_ABOVE`` training rows) the float columns are
kept as float32: half the memory of the biggest frames (at 640,000 rows the linear models'
one-hot and indicator columns took 320 MB in float64, and the model copied them again).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from automl.preprocessing.columns import build_preprocessor, target_encoded
from automl.data.profile import DataProfile
from automl.spec import ModelSpec
from automl.data.task import Task
from automl.search import fidelity

#: Transformed folds kept in memory at most (bytes). 1 GB before: on the shared datasets
#: a kind's folds take 1-40 MB, and a fit's whole peak should stay near 600 MB.
MAX_BYTES = 192 << 20
#: Rows a preprocessing is fitted on to count its columns (``width``) when no fold is kept.
WIDTH_ROWS = 5000


def kind(spec: ModelSpec, profile: DataProfile | None = None, task: Task | None = None) -> tuple[bool, ...]:
    """The flags that decide a spec's preprocessing; on data like ``profile`` for ``task``,
    ``target_encoding`` only where it adds encodings (not without categorical columns, nor
    past the encodings' cap: ``columns.target_encoded``)."""
    encodes = spec.target_encoding if profile is None else bool(target_encoded(profile, spec, task))
    return (spec.handles_missing, spec.needs_scaling, spec.handles_categorical, encodes)


@dataclass
class PreparedFold:
    """One fold's transformed rows: ``train`` in the order of the fold's training rows."""

    train: pd.DataFrame
    valid: pd.DataFrame
    seconds: float  # time to fit the preprocessing and transform both parts
    prep: Pipeline  # the fitted preprocessing (a fold model's pipeline starts with it)
    #: the fold's training rows ``train`` holds, when only some (fitted on those alone)
    positions: np.ndarray | None = None

    def rows(self, positions: np.ndarray) -> pd.DataFrame:
        """Training rows at ``positions`` (positions within the fold's training rows): the
        kept frame itself when they are all of them in order (no copy of a large fold)."""
        mine = np.arange(len(self.train)) if self.positions is None else self.positions
        if len(positions) == len(mine) and np.array_equal(positions, mine):
            return self.train
        if self.positions is not None:
            raise ValueError("this fold was prepared for other rows")
        return self.train.iloc[positions]


class PreparedFolds:
    """Fitted preprocessing per (fold, kind), computed on first use."""

    def __init__(self, X: pd.DataFrame, y: np.ndarray, profile: DataProfile, task: Task,
                 splits, max_bytes: int = MAX_BYTES):
        self.X, self.y, self.profile, self.task, self.splits = X, y, profile, task, splits
        self.max_bytes = max_bytes
        self._kept: dict[tuple, PreparedFold] = {}
        self._bytes = 0
        self._seconds: dict[tuple, list[float]] = {}
        self._widths: dict[tuple, tuple[int, float]] = {}  # kind: (columns, bytes a row) on a sample

    def get(self, spec: ModelSpec, fold: int, positions: np.ndarray | None = None) -> PreparedFold:
        """Fold ``fold`` prepared for ``spec``'s kind. ``positions`` (within the fold's
        training rows): the rows the caller trains on; on a large table whose fold would
        not be kept, the preprocessing is fitted on those alone (``PreparedFold.positions``)."""
        key = (fold, kind(spec, self.profile, self.task))
        hit = self._kept.get(key)
        if hit is not None:
            return hit
        tr, va = self.splits[fold]
        t0 = time.perf_counter()
        large = len(tr) > fidelity.ROW_RUNGS_ABOVE
        if not (large and positions is not None and len(positions) < len(tr) and not self._fits(spec, fold)):
            positions = None
        rows = tr if positions is None else tr[positions]
        prep: Pipeline = build_preprocessor(self.profile, spec, self.task, "float32" if large else "float64")
        train = prep.fit_transform(self.X.iloc[rows], self.y[rows])
        valid = prep.transform(self.X.iloc[va])
        out = PreparedFold(train, valid, time.perf_counter() - t0, prep, positions)
        # the time a whole fold takes: fitting grows with the rows (transforming the validation rows does not)
        whole = out.seconds * (len(tr) + len(va)) / (len(rows) + len(va))
        self._seconds.setdefault(kind(spec, self.profile, self.task), []).append(whole)
        if positions is not None:
            return out
        size = int(train.memory_usage(deep=False).sum() + valid.memory_usage(deep=False).sum())
        if self._bytes + size <= self.max_bytes:
            self._kept[key] = out
            self._bytes += size
        return out

    def width(self, spec: ModelSpec) -> int:
        """The columns ``spec``'s preprocessing makes: fold 0's (prepared, and kept for the
        trials), except on a large table, where a whole fold is not prepared for one number:
        there a kept fold's, else those of the preprocessing fitted on the first
        ``WIDTH_ROWS`` training rows of fold 0."""
        key = kind(spec, self.profile, self.task)
        if len(self.splits[0][0]) <= fidelity.ROW_RUNGS_ABOVE:
            return self.get(spec, 0).train.shape[1]
        kept = next((f for (_, k), f in self._kept.items() if k == key), None)
        return kept.train.shape[1] if kept is not None else self._sample(spec)[0]

    def _sample(self, spec: ModelSpec) -> tuple[int, float]:
        """(columns, bytes a row) of ``spec``'s preprocessing fitted on the first
        ``WIDTH_ROWS`` training rows of fold 0."""
        key = kind(spec, self.profile, self.task)
        if key not in self._widths:
            rows = self.splits[0][0][:WIDTH_ROWS]
            prep = build_preprocessor(self.profile, spec, self.task, "float32")
            out = prep.fit_transform(self.X.iloc[rows], self.y[rows])
            self._widths[key] = out.shape[1], float(out.memory_usage(deep=False).sum()) / max(len(out), 1)
        return self._widths[key]

    def _fits(self, spec: ModelSpec, fold: int) -> bool:
        """A whole fold of ``spec``'s kind would be kept: estimated on a sample (``_sample``)."""
        tr, va = self.splits[fold]
        return self._bytes + self._sample(spec)[1] * (len(tr) + len(va)) <= self.max_bytes

    def ahead(self, specs):
        """Preparing ``specs``' folds ahead of their first trials: one callable per fold
        and kind, cheapest spec first (as ``study.enqueue_defaults`` queues their default
        trials); each returns False once a result cannot be kept (no room: more is waste)."""
        kinds = set()
        for spec in sorted(specs, key=lambda s: s.cost):
            if kind(spec, self.profile, self.task) not in kinds:
                kinds.add(kind(spec, self.profile, self.task))
                for fold in range(len(self.splits)):
                    yield partial(self._ahead, spec, fold)

    def _ahead(self, spec: ModelSpec, fold: int) -> bool:
        if len(self.splits[fold][0]) > fidelity.ROW_RUNGS_ABOVE:
            return False  # a fold takes longer than the worker's start (640,000 rows: 6 s), for a model not yet drawn
        self.get(spec, fold)
        return (fold, kind(spec, self.profile, self.task)) in self._kept

    def clear(self) -> None:
        """Drop the kept frames (the search is over: the final refit prepares all the rows
        itself, and should not hold the folds' copies beside them). Timings are kept."""
        self._kept.clear()
        self._bytes = 0

    def seconds(self, spec: ModelSpec | None = None) -> float:
        """Mean seconds to prepare one fold for ``spec``'s kind (None: the slowest kind;
        0 before the first)."""
        if spec is None:
            return max((float(np.mean(v)) for v in self._seconds.values()), default=0.0)
        done = self._seconds.get(kind(spec, self.profile, self.task))
        return float(np.mean(done)) if done else 0.0
