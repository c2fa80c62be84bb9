"""A fitted AutoML as a model file, and back: what goes in the manifest and which members.

The manifest (JSON) holds the settings, the task, the classes, the columns and their
profile, the metric's name (resolved again on load: a scikit-learn scorer by name, a
plugin's metric through the installed plugins), the best trial, the final model's method,
members and weights, the skipped models, the timings, the out-of-fold validation summary
and the cached feature importances' explanation. The fitted pipelines (the final model's,
the best one's, a stacker's meta-learner) are one ``codec`` graph (``model.skops`` plus
the plugins' ``native/`` files); the leaderboard and the cached importances are JSON
tables. The training sample and the out-of-fold predictions (which hold the training
rows' target) are written only when the model keeps them (``keep_training_sample``).
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import os
import re
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable

import numpy as np

from automl.data.profile import ColumnProfile, DataProfile, Role
from automl.data.task import Task
from automl.exceptions import DataError, ModelFileError
from automl.final.combiners import Stacker, WeightedAverage
from automl.final.calibration import Calibrator
from automl.final.ensemble import Ensemble
from automl.metrics import Metric, MetricSpec, UnavailableMetric, resolve_metric
from automl.model_file import archive, codec
from automl.model_file.frames import frame_from_json, frame_to_json
from automl.model_file.trust import make_trust
from automl.registry import discover
from automl.serializer import decode_plain, encode_plain

log = logging.getLogger(__name__)

GRAPH = "model.skops"
LEADERBOARD, IMPORTANCES = "leaderboard.json", "importances.json"
TRAIN_SAMPLE, VALIDATION = "train_sample.json", "validation_predictions.json"


@dataclass
class Loaded:
    """What :func:`load` read: the constructor settings, the fitted attributes, the cached
    feature importances (by ``(n_repeats, max_rows, method)``) and explanation."""

    settings: dict
    attributes: dict
    importances: dict = field(default_factory=dict)
    explanation: str | None = None


def _json(data: Any) -> bytes:
    """JSON data (already plain: ``frame_to_json`` encodes its values) as bytes."""
    return json.dumps(data, allow_nan=False, ensure_ascii=False).encode()


def _redacted(storage: Any) -> str | None:
    """A storage URL without its password (a model file is shared); objects by their type."""
    if storage is None:
        return None
    if not isinstance(storage, str):
        return type(storage).__name__
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", storage)


def _settings(aml) -> dict:
    settings = dict(aml.get_params(deep=False))
    settings["plugins"] = tuple(p if isinstance(p, str) else getattr(p, "__name__", type(p).__name__)
                                for p in settings.get("plugins") or ())
    settings["storage"] = _redacted(settings.get("storage"))
    artifacts = settings.get("artifacts")  # a directory, or an artifact store object (by its type)
    settings["artifacts"] = None if artifacts is None else (
        str(artifacts) if isinstance(artifacts, (str, os.PathLike)) else type(artifacts).__name__)
    return settings


def _combiner(combiner) -> tuple[dict | None, Any]:
    """The combiner as JSON data, and the fitted object it holds (a stacker's meta-learner)."""
    if combiner is None:
        return None, None
    if isinstance(combiner, WeightedAverage):
        return {"kind": "weighted_average", "weights": combiner.weights}, None
    if isinstance(combiner, Stacker):
        return {"kind": "stacker", "task": combiner.task.value, "n_classes": combiner.n_classes}, combiner.meta_
    raise ModelFileError(f"cannot save an ensemble combined by a {type(combiner).__name__}.")


def _metric(aml, registry) -> dict:
    scorer = aml.scorer_.scorer
    plugin = getattr(scorer, "plugin", "") if isinstance(scorer, (MetricSpec, UnavailableMetric)) else ""
    info = next((p for p in registry.plugins if p.name == plugin), None)
    return {"name": aml.metric_, "plugin": plugin or None,
            "distribution": getattr(scorer, "distribution", "") or (info.distribution if info else "") or None}


def _plugin_objects(plugins: Iterable) -> list:
    return [p for p in plugins or () if not isinstance(p, str)]  # a loaded model keeps names only


def save(aml, path, importances: dict, explanation: str | None) -> None:
    """Write the fitted ``aml`` to ``path`` (see the module docstring)."""
    registry = discover(disabled=aml.disable_plugins, plugins=_plugin_objects(aml.plugins))
    trust = make_trust(registry)
    ens = aml.ensemble_
    combiner, meta = _combiner(ens.combiner)
    encoded = codec.encode({"pipelines": list(ens.pipelines), "best_model": aml.best_model_, "meta": meta},
                           trust.serializers)
    refused = codec.untrusted(encoded, trust)
    if refused:
        warnings.warn(f"The model holds types no installed plugin declares ({', '.join(refused)}): loading it will "
                      "need AutoML.load(path, trusted=[...]); a plugin declares them with automl_register_types.",
                      UserWarning, stacklevel=3)
    kept = aml.train_sample_ is not None
    profile = aml.profile_
    body = {
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": archive.library_versions(),
        "settings": _settings(aml),
        "task": aml.task_.value, "task_reason": aml.task_reason_, "target": aml.target_,
        "classes": aml.classes_ if aml.task_.is_classification else None,
        "features": list(aml.feature_columns_),
        "feature_names_in": hasattr(aml, "feature_names_in_"),  # fitted on a frame with string column names
        "profile": {"n_rows": profile.n_rows, "n_classes": profile.n_classes,
                    "columns": [{"name": c.name, "role": c.role.value, "dtype": c.dtype, "n_unique": c.n_unique,
                                 "n_missing": c.n_missing, "reason": c.reason} for c in profile.columns]},
        "metric": _metric(aml, registry),
        "best": {"model": aml.best_model_name_, "trial": aml.best_trial_, "score": aml.best_score_,
                 "params": aml.best_params_},
        "ensemble": {"method": ens.method, "members": ens.members, "weights": list(ens.weights),
                     "oof_score": ens.oof_score, "single_best_score": ens.single_best_score, "scores": ens.scores,
                     "notes": ens.notes, "combiner": combiner,
                     "calibrator": None if ens.calibrator is None else {"method": ens.calibrator.method,
                                                                        "params": ens.calibrator.params},
                     "floor": ens.floor},
        "models": {"graph": GRAPH, "stored": encoded.index},
        "skipped_models": aml.skipped_models_,
        "timings": aml.timings_,
        "validation": aml.validation_summary_,
        "training_rows_kept": len(aml.train_sample_) if kept else 0,
        "explanation": explanation,
    }
    members = {GRAPH: encoded.graph, **encoded.natives, LEADERBOARD: _json(frame_to_json(aml.leaderboard_))}
    if importances:
        members[IMPORTANCES] = _json([{"key": list(k), "frame": frame_to_json(f)} for k, f in importances.items()])
    if kept:
        members[TRAIN_SAMPLE] = _json(frame_to_json(aml.train_sample_))
        if aml.validation_predictions_ is not None:
            members[VALIDATION] = _json(frame_to_json(aml.validation_predictions_))
    archive.write(path, encode_plain(body), members)


def _profile(data: dict) -> DataProfile:
    columns = tuple(ColumnProfile(c["name"], Role(c["role"]), c["dtype"], c["n_unique"], c["n_missing"], c["reason"])
                    for c in data["columns"])
    return DataProfile(n_rows=data["n_rows"], columns=columns, n_classes=data["n_classes"])


def _resolve_metric(data: dict, task: Task, registry) -> Metric:
    try:
        return resolve_metric(data["name"], task, registry.metrics)
    except DataError:  # a plugin's metric, the plugin not installed: predicting still works
        return Metric(data["name"], UnavailableMetric(data["name"], data.get("plugin") or "?",
                                                      data.get("distribution") or ""))


def _table(members: dict, name: str):
    return frame_from_json(json.loads(members[name])) if name in members else None


def _attributes(body: dict, members: dict, parts: dict, registry) -> dict:
    task = Task(body["task"])
    ens, combiner = body["ensemble"], body["ensemble"]["combiner"]
    if combiner is None:
        combine = None
    elif combiner["kind"] == "weighted_average":
        combine = WeightedAverage(np.asarray(combiner["weights"], dtype=float))
    else:
        combine = Stacker(Task(combiner["task"]), int(combiner["n_classes"]))
        combine.meta_ = parts["meta"]
    ensemble = Ensemble(ens["method"], ens["members"], ens["oof_score"], ens["single_best_score"], ens["scores"],
                        ens["notes"], list(parts["pipelines"]), combine)
    if ens.get("calibrator"):  # files written before calibration have none
        ensemble.calibrator = Calibrator(ens["calibrator"]["method"], dict(ens["calibrator"]["params"]))
    ensemble.floor = float(ens.get("floor", 0.0))  # files written before the floor have none
    best = body["best"]
    kept = body["training_rows_kept"] > 0
    attributes = {
        "task_": task, "task_reason_": body["task_reason"], "target_": body["target"],
        "feature_columns_": list(body["features"]), "n_features_in_": len(body["features"]),
        "profile_": _profile(body["profile"]), "skipped_models_": body["skipped_models"],
        "metric_": body["metric"]["name"], "scorer_": _resolve_metric(body["metric"], task, registry),
        "best_model_": parts["best_model"], "best_model_name_": best["model"], "best_trial_": best["trial"],
        "best_score_": best["score"], "best_params_": best["params"], "ensemble_": ensemble,
        "timings_": body["timings"], "leaderboard_": _table(members, LEADERBOARD),
        "validation_summary_": body["validation"], "versions_": body["versions"],
        "train_sample_": _table(members, TRAIN_SAMPLE) if kept else None,
        "validation_predictions_": _table(members, VALIDATION) if kept else None,
    }
    if body.get("feature_names_in", True):
        attributes["feature_names_in_"] = np.asarray(body["features"], dtype=object)
    if task.is_classification:
        attributes["classes_"] = np.asarray(body["classes"])
    ensemble.fast_path(len(attributes["classes_"]) if task.is_classification else 0)  # compiled now, not on a request
    return attributes


def load(path, trusted: Iterable = ()) -> Loaded:
    """Read the model file ``path`` (see ``archive`` for the checks) and rebuild its fitted
    parts with the installed plugins' types and ``trusted`` (names or classes) trusted."""
    manifest, members = archive.read(path)
    where = repr(str(path))
    registry = discover()
    trust = make_trust(registry, trusted)
    try:
        body = decode_plain({k: v for k, v in manifest.items() if k not in ("magic", "format", "members")})
        natives = {k: v for k, v in members.items() if k.startswith(codec.NATIVE + "/")}
        encoded = codec.Encoded(members[body["models"]["graph"]], natives, body["models"]["stored"])
        parts = codec.decode(encoded, trust, where)
        attributes = _attributes(body, members, parts, registry)
        cached = json.loads(members.get(IMPORTANCES, b"[]"))
        importances = {tuple(e["key"]): frame_from_json(e["frame"]) for e in cached}
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(f"{where} is damaged: its manifest or tables are incomplete ({type(exc).__name__}: "
                             f"{exc}).") from None
    return Loaded(dict(body["settings"]), attributes, importances, body.get("explanation"))
