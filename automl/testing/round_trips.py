"""The round-trip checks: a fitted pipeline predicts identically after a pickle round trip
(copies in memory, worker processes) and after a model file round trip (no pickle: skops
with the trusted types, and the plugins' serializers). Part of ``automl.testing.checks``."""

from __future__ import annotations

import functools
import pickle
from typing import Sequence

import numpy as np
import pandas as pd

from automl.data.task import Task
from automl.exceptions import ModelFileError
from automl.model_file import codec
from automl.model_file.trust import make_trust
from automl.registry import discover
from automl.spec import ModelSpec
from automl.testing.data import fit_pipeline, make_data


def _fail(spec, rule: str, detail: str = "") -> AssertionError:
    return AssertionError(f"ModelSpec {spec.name!r}: {rule}" + (f" ({detail})" if detail else ""))


def _same_predictions(spec: ModelSpec, task: Task, pipe, restored, X: pd.DataFrame, how: str) -> None:
    methods = ("predict", "predict_proba") if task.is_classification else ("predict",)
    for method in methods:
        before, after = getattr(pipe, method)(X), getattr(restored, method)(X)
        if not np.array_equal(np.asarray(before), np.asarray(after)):
            raise _fail(spec, f"{method} differs after {how}")


def check_pickle(spec: ModelSpec, task: Task) -> None:
    """A fitted pipeline survives a pickle round trip and predicts identically (in-memory
    copies and worker processes pickle models; model files do not)."""
    X, y = make_data(task)
    pipe = fit_pipeline(spec, task, spec.default_params[0], X, y)
    _same_predictions(spec, task, pipe, pickle.loads(pickle.dumps(pipe)), X, "a pickle round trip")


@functools.lru_cache(maxsize=1)
def _installed():
    return discover()


def check_safe_format(spec: ModelSpec, task: Task, declared: Sequence = ()) -> None:
    """A fitted pipeline round-trips through the model file's format (``skops.io`` with the
    trusted types, and the plugins' serializers; no pickle) and predicts identically. Its
    types must be trusted: scikit-learn's, numpy's, automl's, or declared through
    ``automl_register_types`` by its plugin (``declared``: what that hook returns) or
    another installed plugin."""
    X, y = make_data(task)
    pipe = fit_pipeline(spec, task, spec.default_params[0], X, y)
    trust = make_trust(_installed(), declared)
    try:
        encoded = codec.encode(pipe, trust.serializers)
    except ModelFileError as exc:
        raise _fail(spec, "its fitted model cannot be stored in a model file; declare a Serializer for the "
                    "objects skops cannot store (automl_register_types)", str(exc)) from exc
    refused = codec.untrusted(encoded, trust)
    if refused:
        raise _fail(spec, "its fitted model holds types no plugin declares, so a saved model would not load; "
                    "return them from the plugin's automl_register_types hook", ", ".join(refused))
    restored = codec.decode(encoded, trust, f"the model file of {spec.name!r}")
    _same_predictions(spec, task, pipe, restored, X, "a model file round trip")
