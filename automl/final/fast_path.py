"""The final model's fast path for a few rows: compiled preprocessing, models on arrays.

On one row, the batch path (each member's ``Pipeline``: a ColumnTransformer with pandas
output, then the model's input validation) costs milliseconds a member, most of it
per-call overhead. :class:`FastPath` compiles each member once
(:func:`~automl.preprocessing.compiled.compile_prep` and
:func:`~automl.final.fast_models.model_caller`), runs each distinct preprocessing once
per call (members of one kind fitted on the same rows share it), and combines the
members' scores as the batch path does. A member that cannot be compiled keeps its
pipeline (correct, only slower); compiling never fails a fit or a load.

It is used below :data:`FAST_ROWS` rows, where it is faster than the batch path (its
per-value lookups are Python loops, which a large batch would feel). Nothing of it is
stored: it is rebuilt from the fitted pipelines (after ``fit`` and after a load).
"""

from __future__ import annotations

import logging
import warnings
import weakref

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from automl.data.inputs import raw_columns
from automl.final.fast_models import model_caller
from automl.final.fold_models import FoldAverage
from automl.preprocessing.compiled import CompiledPrep, NotCompilable, compile_prep
from automl.preprocessing.pipeline import predict_scores, scores_from_proba

log = logging.getLogger(__name__)

#: Up to this many rows the fast path is used: faster than the batch path for every model
#: measured up to 1,000 rows (adult, 8,000 training rows: one-hot/target-encoding lookups
#: are Python loops, 1.5x slower than pandas at 8,000 rows; trees and boosters faster).
FAST_ROWS = 1000


class FastMember:
    """One member compiled: ``prep`` (shared with like members) and ``call`` on its matrix."""

    def __init__(self, pipeline: Pipeline, n_classes: int):
        self.prep: CompiledPrep = compile_prep(pipeline.steps[0][1])
        model = pipeline.steps[-1][1]
        self.call = model_caller(model, self.prep, bool(n_classes))
        self.classes = np.asarray(model.classes_, dtype=int) if n_classes else None
        self.n_classes = n_classes

    def scores(self, X: np.ndarray) -> np.ndarray:
        out = self.call(X)
        if not self.n_classes:
            return np.asarray(out, dtype=float)
        return scores_from_proba(np.array(out, dtype=float), self.classes, self.n_classes)


class FastFolds:
    """A ``FoldAverage`` compiled: its fold pipelines' compiled forms, averaged as it does."""

    def __init__(self, folds: FoldAverage, n_classes: int):
        self.members = [FastMember(p, n_classes) for p in folds.pipelines]
        self.n_classes = n_classes

    def scores(self, cols: dict, n: int, shared: dict) -> np.ndarray:
        mean = np.mean([m.scores(_prepared(m, cols, n, shared)) for m in self.members], axis=0)
        if not self.n_classes:
            return mean
        return scores_from_proba(mean, np.arange(self.n_classes), self.n_classes)


def _prepared(member: FastMember, cols: dict, n: int, shared: dict) -> np.ndarray:
    X = shared.get(member.prep.key)
    if X is None:
        X = shared[member.prep.key] = member.prep.transform(cols, n)
    return X


_MEMBERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def compile_member(pipeline, n_classes: int) -> FastMember | FastFolds | None:
    """``pipeline`` compiled (cached while the pipeline lives), or None when it cannot be."""
    cached = _MEMBERS.get(pipeline) if _weakrefable(pipeline) else None
    if cached is not None and cached[0] == n_classes:
        return cached[1]
    member = None
    if (isinstance(pipeline, Pipeline) and len(pipeline.steps) == 2) or isinstance(pipeline, FoldAverage):
        try:
            member = FastFolds(pipeline, n_classes) if isinstance(pipeline, FoldAverage) else FastMember(pipeline,
                                                                                                      n_classes)
        except NotCompilable as exc:
            log.debug("Member %r keeps the batch path: %s", pipeline, exc)
        except Exception as exc:  # noqa: BLE001 - a library's internals moved: keep the batch path
            log.debug("Member %r keeps the batch path (%s: %s)", pipeline, type(exc).__name__, exc)
    if _weakrefable(pipeline):
        _MEMBERS[pipeline] = (n_classes, member)
    return member


def _weakrefable(obj) -> bool:
    try:
        weakref.ref(obj)
    except TypeError:
        return False
    return True


class FastPath:
    """The members' compiled forms (None for a member on its pipeline), in member order."""

    def __init__(self, pipelines: list, n_classes: int):
        self.pipelines = list(pipelines)
        self.n_classes = n_classes
        self.members = [compile_member(p, n_classes) for p in self.pipelines]
        preps = [p for m in self.members if m is not None
                 for p in ([f.prep for f in m.members] if isinstance(m, FastFolds) else [m.prep])]
        self.inputs = list(dict.fromkeys(c for p in preps for c in p.inputs))

    @property
    def compiled(self) -> int:
        return sum(m is not None for m in self.members)

    def member_scores(self, frame: pd.DataFrame) -> list[np.ndarray]:
        """Each member's scores on ``frame`` (the validated feature columns), as ``predict_scores``."""
        n = len(frame)
        cols = raw_columns(frame, self.inputs) if self.inputs else {}
        shared: dict[str, np.ndarray] = {}
        out = []
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*feature names.*")
            for member, pipe in zip(self.members, self.pipelines):
                if member is None:
                    out.append(predict_scores(pipe, frame, self.n_classes))
                    continue
                if isinstance(member, FastFolds):
                    out.append(member.scores(cols, n, shared))
                else:
                    out.append(member.scores(_prepared(member, cols, n, shared)))
        return out
