"""The contract checks: each takes a spec (and a task) and raises ``AssertionError``
with a message that names the spec, the rule and what to change.

Model checks have the signature ``check(spec, task)``; a check that does not apply
(``check_predict_proba`` for regression, a flag the spec does not set) returns
without checking. See ``automl.testing`` for how to run them all.
"""

from __future__ import annotations

import dataclasses
import json
import math
import pickle
from typing import Any, Mapping

import numpy as np
import pandas as pd
from sklearn.base import clone

from automl.exceptions import PluginError
from automl.hookspecs import HOOK_API_VERSION
from automl.metrics import MetricSpec, resolve_metric
from automl.trial import TrialInfo
from automl.preprocessing.pipeline import at_fidelity, build_pipeline, can_continue, continue_training
from automl.registry import make_plugin_manager, register_plugin
from automl._json import jsonable
from automl.serializer import Serializer, check_type_name
from automl.spec import ModelSpec
from automl.data.task import Task
from automl.testing.round_trips import check_pickle, check_safe_format  # noqa: F401 (one module of checks)
from automl.testing.data import (
    N_ROWS,
    at_low_fidelity,
    context,
    fit_pipeline,
    make_data,
    profile,
    replay_params,
    sample_params,
)

#: ``needs_scaling=False`` is honest when rescaling the columns moves the held-out score
#: (accuracy or R²) by at most this much.
SCALE_TOLERANCE = 0.1
#: The columns' scales in the rescaling check (orders of magnitude apart).
SCALES = (1e-3, 1e-1, 1.0, 1e2, 1e4)
#: Predicted labels must agree with the most probable class (``classes_`` order) on at
#: least this share of the rows.
PROBA_AGREEMENT = 0.9


def _fail(spec, rule: str, detail: str = "") -> AssertionError:
    what = "MetricSpec" if isinstance(spec, MetricSpec) else "ModelSpec"
    return AssertionError(f"{what} {spec.name!r}: {rule}" + (f" ({detail})" if detail else ""))


def _beats_constant(score: float, task: Task, y: pd.Series) -> bool:
    baseline = 0.0 if task is Task.REGRESSION else y.value_counts(normalize=True).max()
    return score > baseline


# ------------------------------------------------------------------ space ----


def check_search_space(spec: ModelSpec, task: Task) -> None:
    """The space is deterministic (the same seeded trials, and a fixed trial, give the
    same parameters), only uses the namespaced trial it is given, never suggests the
    fidelity parameter, returns JSON-serialisable values, and sampled configurations fit."""
    X, y = make_data(task)
    data_profile = profile(X, task, y)
    try:
        first = sample_params(spec, data_profile)
    except Exception as exc:
        raise _fail(spec, "search_space failed on the namespaced trial the core passes; use only "
                    "trial.suggest_float / suggest_int / suggest_categorical", f"{type(exc).__name__}: {exc}") from exc
    prefix = f"{spec.name}__"
    fidelity = spec.fidelity.param if spec.fidelity is not None else None
    for params, suggested in first:
        if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
            raise _fail(spec, "search_space must return a dict with str keys", repr(params))
        outside = [k for k in suggested if not k.startswith(prefix)]
        if outside:
            raise _fail(spec, f"suggested parameters outside its namespace {prefix!r}", repr(outside))
        if fidelity and (f"{prefix}{fidelity}" in suggested or fidelity in params):
            raise _fail(spec, f"search_space suggests the fidelity parameter {fidelity!r}; the core sets it, remove it")
        try:
            json.dumps(jsonable(dict(params), strict=True))
        except (TypeError, ValueError) as exc:
            raise _fail(spec, "search_space must return plain values (str, int, float, bool, None): the study "
                        "stores them", str(exc)) from None
        replayed = replay_params(spec, suggested, data_profile)
        if dict(replayed) != dict(params):
            raise _fail(spec, "search_space is not deterministic for a fixed trial", f"{params} then {replayed}")
    second = sample_params(spec, data_profile)
    if first != second:
        raise _fail(spec, "search_space is not deterministic: the same seeded trials gave different parameters; "
                    "draw every random choice from the trial", f"{first[0][0]} then {second[0][0]}")
    for params, _ in first[:2]:  # sampled configurations fit, at the lowest fidelity
        _check_predictions(spec, fit_pipeline(spec, task, params, X, y), task, X, y)


# --------------------------------------------------------------- fidelity ----


def check_fidelity(spec: ModelSpec, task: Task) -> None:
    """A fidelity parameter is an estimator parameter the core can set (never searched:
    see ``check_search_space``), with a sensible range: whole numbers from at least 1
    (trees, iterations, epochs), or a fraction of the rows from at least 1% up to all of
    them. The model fits at the lowest fidelity. No fidelity: nothing to check."""
    fid = spec.fidelity
    if fid is None:
        return
    X, y = make_data(task)
    if fid.is_sample_fraction:
        if fid.high != 1.0 or fid.low < 0.01:
            raise _fail(spec, "a sample_fraction fidelity goes from at least 0.01 to 1.0 (all the rows)",
                        f"low={fid.low}, high={fid.high}")
        n = max(int(math.ceil(fid.low * N_ROWS)), 10)
        rows = np.random.default_rng(1).permutation(N_ROWS)[:n]
        Xs, ys = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
        _check_predictions(spec, fit_pipeline(spec, task, spec.default_params[0], Xs, ys), task, Xs, ys)
        return
    if fid.low < 1 or not float(fid.low).is_integer() or not float(fid.high).is_integer() or fid.high > 100_000:
        raise _fail(spec, f"the {fid.kind} fidelity must go between whole numbers from 1 to 100000",
                    f"low={fid.low}, high={fid.high}")
    ctx = context(task, y)
    for level in (fid.low, fid.high):
        model = spec.build(at_fidelity(spec, spec.default_params[0], level), ctx)
        got = model.get_params().get(fid.param, "<missing>")
        if got != level:
            raise _fail(spec, f"the fidelity parameter {fid.param!r} must be an estimator parameter that build "
                        "passes through (the core sets it)", f"built with {fid.param}={level:g}, get_params has {got}")


# ------------------------------------------------------------------ build ----


def _same_params(a: dict, b: dict) -> bool:
    """Equal parameters; estimators, splitters and other objects compare by their repr
    (``clone`` copies them)."""
    return a.keys() == b.keys() and all(repr(a[k]) == repr(b[k]) for k in a)


def check_clone(spec: ModelSpec, task: Task) -> None:
    """Built estimators survive ``sklearn.base.clone`` with the same parameters (their
    ``__init__`` only stores its arguments), and have the methods the core calls."""
    _, y = make_data(task)
    for params in spec.default_params:
        model = spec.build(at_low_fidelity(spec, params), context(task, y))
        for method in ("fit", "predict", "get_params", "set_params") + (
            ("predict_proba",) if task.is_classification else ()
        ):
            if not callable(getattr(model, method, None)):
                raise _fail(spec, f"build must return a scikit-learn estimator with {method}()", type(model).__name__)
        try:
            copy = clone(model)
        except Exception as exc:
            raise _fail(spec, "the built estimator does not survive sklearn.base.clone; its __init__ must store "
                        "its arguments unchanged", f"{type(exc).__name__}: {exc}") from exc
        if type(copy) is not type(model) or not _same_params(model.get_params(deep=False), copy.get_params(deep=False)):
            raise _fail(spec, "clone changed the estimator's parameters", f"{model!r} vs {copy!r}")


# -------------------------------------------------------------------- fit ----


def _check_predictions(spec: ModelSpec, pipe, task: Task, X: pd.DataFrame, y: pd.Series) -> np.ndarray:
    pred = np.asarray(pipe.predict(X))
    if pred.shape != (len(X),):
        raise _fail(spec, "predict must return one value per row", f"shape {pred.shape} for {len(X)} rows")
    if task is Task.REGRESSION:
        if not np.isfinite(pred.astype(float)).all():
            raise _fail(spec, "regression predictions must be finite numbers")
        return pred
    if not set(np.unique(pred)) <= set(np.unique(y)):
        raise _fail(spec, "predict returned labels not among the training labels", f"{sorted(set(np.unique(pred)))}")
    return pred


def check_fit_predict(spec: ModelSpec, task: Task) -> None:
    """Every default configuration fits through the core's pipeline on tiny data (NaN and
    a categorical column included), predicts one finite value or known label per row,
    and beats a constant prediction on its training rows."""
    X, y = make_data(task)
    for params in spec.default_params:
        try:
            pipe = fit_pipeline(spec, task, params, X, y)
        except Exception as exc:
            raise _fail(spec, f"default configuration {dict(params)} does not fit a {task.value} task",
                        f"{type(exc).__name__}: {exc}") from exc
        _check_predictions(spec, pipe, task, X, y)
        score = pipe.score(X, y)
        if not _beats_constant(score, task, y):
            raise _fail(spec, f"default configuration {dict(params)} does not beat a constant prediction on its "
                        f"own training rows", f"{'R²' if task is Task.REGRESSION else 'accuracy'} {score:.3f}")


def check_predict_proba(spec: ModelSpec, task: Task) -> None:
    """Classification: ``predict_proba`` has one column per class in ``classes_`` order
    (the most probable column is the right class more often than the majority rate and
    agrees with ``predict``), its values are in [0, 1] and its rows sum to 1."""
    if not task.is_classification:
        return
    X, y = make_data(task)
    pipe = fit_pipeline(spec, task, spec.default_params[0], X, y)
    classes = np.asarray(pipe.classes_)
    if list(classes) != sorted(np.unique(y)):
        raise _fail(spec, "classes_ must be the sorted training labels", f"{list(classes)}")
    proba = np.asarray(pipe.predict_proba(X), dtype=float)
    if proba.shape != (len(X), len(classes)):
        raise _fail(spec, "predict_proba must have one column per class", f"shape {proba.shape}")
    if not (np.isfinite(proba).all() and (proba >= 0).all() and (proba <= 1 + 1e-9).all()):
        raise _fail(spec, "predict_proba values must be probabilities in [0, 1]")
    worst = np.abs(proba.sum(axis=1) - 1.0).max()
    if worst > 1e-6:
        raise _fail(spec, "predict_proba rows must sum to 1", f"off by up to {worst:.2g}")
    top = classes[np.argmax(proba, axis=1)]
    accuracy = float(np.mean(top == y.to_numpy()))
    if not _beats_constant(accuracy, task, y):
        raise _fail(spec, "the most probable predict_proba column is not the right class: are the columns in "
                    "classes_ order?", f"accuracy {accuracy:.3f}")
    agreement = float(np.mean(top == np.asarray(pipe.predict(X))))
    if agreement < PROBA_AGREEMENT:
        raise _fail(spec, "predict disagrees with the most probable predict_proba column", f"agree on {agreement:.0%}")


def check_warm_start(spec: ModelSpec, task: Task) -> None:
    """``warm_start=True``: a model fitted at the lowest fidelity trains on to the full
    resource as the core continues it from rung to rung (the spec's ``resume``, or
    scikit-learn's ``warm_start``), and the result predicts one value or known label per
    row and pickles. No warm start: nothing to check."""
    if not spec.warm_start:
        return
    X, y = make_data(task)
    pipe = fit_pipeline(spec, task, spec.default_params[0], X, y)
    model = pipe.named_steps["model"]
    if not can_continue(spec, model):
        raise _fail(spec, "says warm_start=True but its estimator has no warm_start parameter; give the spec a "
                    "resume function, or set warm_start=False (the core then refits at every rung)")
    rows = pipe.named_steps["prep"].transform(X)
    try:
        more = continue_training(spec, model, rows, y, spec.fidelity.high, context(task, y))
    except Exception as exc:
        raise _fail(spec, "a model fitted at the lowest fidelity does not train on to the full resource",
                    f"{type(exc).__name__}: {exc}") from exc
    if more is None or not hasattr(more, "predict"):
        raise _fail(spec, "resume must return the fitted estimator", f"got {more!r}")
    pipe.steps[-1] = ("model", more)
    _check_predictions(spec, pipe, task, X, y)
    pickle.loads(pickle.dumps(pipe)).predict(X)


def check_stops_in_time(spec: ModelSpec, task: Task) -> None:
    """``stops_in_time=True``: built at the full resource with no time left
    (``BuildContext.time_limit=0``), as the core may cut a final refit, the fit still ends
    with a model that predicts one value or known label per row. Else nothing to check."""
    if not spec.stops_in_time:
        return
    X, y = make_data(task)
    ctx = dataclasses.replace(context(task, y), time_limit=0.0)
    try:
        pipe = build_pipeline(spec, spec.default_params[0], profile(X, task, y), ctx, spec.fidelity.high).fit(X, y)
    except Exception as exc:
        raise _fail(spec, "says stops_in_time=True but a fit with time_limit=0 fails",
                    f"{type(exc).__name__}: {exc}") from exc
    _check_predictions(spec, pipe, task, X, y)


# ------------------------------------------------------------------ flags ----


def _numeric(X: pd.DataFrame, keep_missing: bool) -> pd.DataFrame:
    numeric = X.drop(columns="color")
    return numeric if keep_missing else numeric.fillna(numeric.median())


def check_flags(spec: ModelSpec, task: Task) -> None:
    """The preprocessing flags are honest. ``handles_missing``: the model itself fits and
    predicts on columns with NaN (the core does not impute for it).
    ``handles_categorical``: it fits on pandas ``category`` columns (with missing
    values), as the core hands them. ``needs_scaling=False``: rescaling the columns by
    factors from 1e-3 to 1e4 moves its held-out score by at most ``SCALE_TOLERANCE``."""
    X, y = make_data(task)
    ctx = context(task, y)
    params = at_low_fidelity(spec, spec.default_params[0])
    if spec.handles_missing:
        values = _numeric(X, keep_missing=True)
        try:
            pred = spec.build(params, ctx).fit(values, y).predict(values)
        except Exception as exc:
            raise _fail(spec, "says handles_missing=True but does not fit/predict on NaN; set it to False (the "
                        "core then imputes)", f"{type(exc).__name__}: {exc}") from exc
        if task is Task.REGRESSION and not np.isfinite(np.asarray(pred, dtype=float)).all():
            raise _fail(spec, "says handles_missing=True but predicts NaN on rows with NaN")
    if spec.handles_categorical:
        frame = _numeric(X, keep_missing=spec.handles_missing)
        frame["color"] = X["color"].astype("category")
        try:
            spec.build(params, ctx).fit(frame, y).predict(frame)
        except Exception as exc:
            raise _fail(spec, "says handles_categorical=True but does not fit on pandas category columns; set it to "
                        "False (the core then one-hot or target encodes)", f"{type(exc).__name__}: {exc}") from exc
    if not spec.needs_scaling:
        plain = _numeric(X, keep_missing=spec.handles_missing)
        scaled = plain * np.asarray(SCALES)
        cut = 2 * len(plain) // 3
        scores = []
        for frame in (plain, scaled):
            model = spec.build(params, ctx).fit(frame.iloc[:cut], y.iloc[:cut])
            scores.append(model.score(frame.iloc[cut:], y.iloc[cut:]))
        if abs(scores[0] - scores[1]) > SCALE_TOLERANCE:
            raise _fail(spec, "says needs_scaling=False but its score depends on the columns' scales; set it to "
                        "True (the core then standardises)", f"held-out score {scores[0]:.3f} vs {scores[1]:.3f} "
                        "with columns rescaled")


# ---------------------------------------------------------------- metrics ----


def check_metric(metric: MetricSpec, task: Task) -> None:
    """The metric scores tiny predictions as a finite number, prefers perfect predictions
    to a constant one (so ``greater_is_better`` is right), and the core resolves it by
    name for ``task``."""
    _, y = make_data(task)
    truth = y.to_numpy()
    if task.is_classification:
        k = int(truth.max()) + 1
        perfect = np.eye(k)[truth]
        constant = np.tile(np.bincount(truth, minlength=k) / len(truth), (len(truth), 1))
    else:
        perfect, constant = truth.astype(float), np.full(len(truth), truth.mean())
    resolved = resolve_metric(metric.name, task, {metric.name: metric})
    scores = []
    for pred in (perfect, constant):
        try:
            value = resolved.score(truth, pred, task)
        except Exception as exc:
            raise _fail(metric, f"score failed on a {task.value} task", f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(value, float) or not math.isfinite(value):
            raise _fail(metric, "score must return a finite float", repr(value))
        scores.append(value)
    if not scores[0] > scores[1]:
        raise _fail(metric, "perfect predictions do not score better than a constant one; is greater_is_better "
                    "right?", f"perfect {scores[0]:.4g}, constant {scores[1]:.4g} (greater is better)")


# ---------------------------------------------------------------- plugins ----

_SAMPLE_TRIAL = TrialInfo(number=0, model="example", plugin="example", params={"alpha": 1.0}, state="ok",
                          score=0.5, metric="roc_auc", rung=0, resource="full", duration=0.1)


def check_plugin(plugin: Any, name: str | None = None) -> None:
    """The plugin registers as the core registers it (no unknown or misspelled hook, no
    hook argument its spec lacks, a hook API this automl provides), implements at least
    one hook, its ``automl_register_*`` hooks return lists of ``ModelSpec`` /
    ``MetricSpec`` with unique names (``automl_register_types``: classes, dotted type
    names or ``Serializer`` objects), and its ``automl_trial_finished`` accepts a
    ``TrialInfo`` and returns None."""
    name = name or getattr(plugin, "__name__", None) or type(plugin).__name__
    pm = make_plugin_manager()
    register_plugin(pm, plugin, name)  # raises PluginError with the reason
    hooks = {hc.name for hc in pm.get_hookcallers(plugin) or []}
    if not hooks:
        raise AssertionError(f"Plugin {name!r} implements no automl hook (hook API version {HOOK_API_VERSION}).")
    for hook, kind in (("automl_register_models", ModelSpec), ("automl_register_metrics", MetricSpec)):
        if hook in hooks:
            result = getattr(pm.hook, hook)()
            try:
                items = [x for part in result for x in (part or ())]
            except TypeError:
                items = [None]
            if not all(isinstance(x, kind) for x in items):
                raise AssertionError(f"Plugin {name!r}: {hook} must return a list of {kind.__name__}, got {result!r}.")
            names = [x.name for x in items]
            if len(set(names)) != len(names):
                raise AssertionError(f"Plugin {name!r}: {hook} returns duplicate names {names}.")
    if "automl_register_types" in hooks:
        items = [x for part in pm.hook.automl_register_types() for x in (part or ())]
        for item in items:
            if not isinstance(item, (str, type, Serializer)):
                raise AssertionError(f"Plugin {name!r}: automl_register_types must return classes, 'module.Class' "
                                     f"names or Serializers, got {item!r}.")
            if isinstance(item, str):
                try:
                    check_type_name(item, f"Plugin {name!r}: automl_register_types")
                except PluginError as exc:
                    raise AssertionError(str(exc)) from None
    if "automl_trial_finished" in hooks:
        returned = pm.hook.automl_trial_finished(trial=_SAMPLE_TRIAL)
        if returned:
            raise AssertionError(f"Plugin {name!r}: automl_trial_finished must return None, got {returned!r}.")
