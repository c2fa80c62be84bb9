"""One candidate = preprocessing for its model family + the model, as a sklearn Pipeline."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np
from sklearn.pipeline import Pipeline

from automl.preprocessing.columns import build_preprocessor
from automl.data.profile import DataProfile
from automl.spec import BuildContext, ModelSpec


def at_fidelity(spec: ModelSpec, params: Mapping[str, Any], level: float | None = None) -> dict[str, Any]:
    """``params`` with the spec's fidelity parameter set to ``level``; by default the
    value already in ``params`` (an early-stopped trial's best rung) or the full resource.

    A sample-fraction fidelity has no estimator parameter; the caller subsamples rows.
    """
    out = dict(params)
    fid = spec.fidelity
    if fid is not None and fid.param:
        value = out.get(fid.param, fid.high) if level is None else level
        out[fid.param] = int(round(value))
    return out


def continue_training(spec: ModelSpec, model: Any, X: Any, y: Any, resource: float, ctx: BuildContext) -> Any:
    """Train ``model``, fitted by ``spec`` at a lower rung, on to ``resource`` on the same
    rows: the spec's ``resume``, or scikit-learn's ``warm_start``. Returns the fitted model."""
    if spec.resume is not None:
        return spec.resume(model, X, y, int(round(resource)), ctx)
    model.set_params(**{spec.fidelity.param: int(round(resource)), "warm_start": True})
    return model.fit(X, y)


def continues(spec: ModelSpec) -> bool:
    """Models of ``spec`` train on from rung to rung instead of starting over."""
    return bool(spec.warm_start and spec.fidelity is not None and spec.fidelity.param)


def previous_model(pipeline: Pipeline | None, continues: bool) -> Any:
    """The fitted model of a fold ``pipeline`` a rung trains on from (None: it starts afresh)."""
    return pipeline.named_steps["model"] if continues and pipeline is not None else None


def can_continue(spec: ModelSpec, model: Any) -> bool:
    """``model`` (fitted by ``spec``) can train on to a higher rung."""
    return continues(spec) and (spec.resume is not None or "warm_start" in model.get_params())


def build_pipeline(
    spec: ModelSpec,
    params: Mapping[str, Any],
    profile: DataProfile,
    ctx: BuildContext,
    resource: float | None = None,
    float_dtype: str = "float64",
) -> Pipeline:
    """Unfitted ``Pipeline([("prep", ...), ("model", ...)])`` at ``resource`` (default: full),
    its float columns as ``float_dtype``."""
    model = spec.build(at_fidelity(spec, params, resource), ctx)
    return Pipeline([("prep", build_preprocessor(profile, spec, ctx.task, float_dtype)), ("model", model)])


def predict_scores(pipe: Pipeline, X, n_classes: int) -> np.ndarray:
    """Class probabilities with one column per encoded class 0..K-1 (classes absent
    from the training rows get 0), or the regression predictions."""
    if not n_classes:
        return np.asarray(pipe.predict(X), dtype=float)
    return scores_from_proba(np.asarray(pipe.predict_proba(X), dtype=float), np.asarray(pipe.classes_, dtype=int),
                             n_classes)


def scores_from_proba(proba: np.ndarray, classes: np.ndarray, n_classes: int) -> np.ndarray:
    """``predict_proba``'s output (a float array, normalised in place) as one column per
    encoded class 0..K-1 (``classes``: the model's encoded classes)."""
    proba /= proba.sum(axis=1, keepdims=True)  # float32 models drift from 1 by ~1e-7
    if len(classes) == n_classes and np.array_equal(classes, np.arange(n_classes)):
        return proba
    full = np.zeros((len(proba), n_classes))
    full[:, classes] = proba
    return full
