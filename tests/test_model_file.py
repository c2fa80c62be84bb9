"""The model file: a zip of JSON, skops and native model files that loads without running
code, keeps no training rows by default, refuses bad files in one line, and round-trips
ensembles of every built-in model family."""

from __future__ import annotations

import functools
import json
import os
import pickle
import types
import warnings
import zipfile

import joblib
import numpy as np
import pandas as pd
import pytest
from skops import io as skops_io
from sklearn.tree import DecisionTreeClassifier

from automl import AutoML, MetricSpec, ModelSpec, Task, hookimpl
from automl.cli import main
from automl.exceptions import DataError, ModelFileError, UntrustedTypeError
from automl.final import combiners
from automl.final import ensemble as ensemble_module
from automl.model_file import archive
from automl.model_file.state import _redacted
from automl.preprocessing.pipeline import predict_scores
from automl.registry import missing_imports
from automl.serializer import type_name


def _frame(task: Task, n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Numbers, a category, a unique name per row (id-like: dropped) and a target."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 4))
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(4)])
    frame["colour"] = rng.choice(["red", "green", "blue"], size=n)
    frame["name"] = [f"Zqx{seed}-{i:05d}-Wlk" for i in range(n)]
    signal = 2 * X[:, 0] - X[:, 1] + (frame["colour"] == "red")
    if task is Task.REGRESSION:
        frame["y"] = signal + rng.normal(scale=0.3, size=n)
    elif task is Task.BINARY:
        frame["y"] = np.where(signal + rng.normal(scale=0.5, size=n) > 0, "yes", "no")
    else:
        frame["y"] = np.digitize(signal, [-1.0, 1.0]).astype(str)
    return frame


def _fit(task: Task, models, **settings) -> AutoML:
    settings = {"time_budget": None, "n_trials": len(models), "cv": 3, "seed": 0, "verbose": 0, **settings}
    return AutoML(models=list(models), **settings).fit(_frame(task), "y")


@pytest.fixture(scope="module")
def binary_fit():
    return _fit(Task.BINARY, ["lightgbm", "decision_tree"], n_trials=4)


@pytest.fixture
def saved(binary_fit, tmp_path):
    path = tmp_path / "m.automl"
    binary_fit.save(path)
    return path


def _members(path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info.filename) for info in zf.infolist()}


def _rewrite(path, members: dict[str, bytes], manifest: dict | None = None, checksums: bool = True) -> None:
    """Write ``members`` (and ``manifest``) as the zip ``path``; with ``checksums`` the
    manifest lists the members' checksums, as an attacker can recompute them."""
    manifest = dict(manifest if manifest is not None else json.loads(members.pop("manifest.json")))
    if checksums:
        manifest["members"] = {name: archive.sha256(data) for name, data in members.items()}
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("manifest.json", json.dumps(manifest))
        for name, data in members.items():
            zf.writestr(name, data)


# ---------------------------------------------------------------- round trips --
def test_a_loaded_model_predicts_and_reports_as_the_fitted_one(binary_fit, saved):
    aml, frame = binary_fit, _frame(Task.BINARY, seed=1)
    loaded = AutoML.load(saved)
    pd.testing.assert_frame_equal(loaded.predict_proba(frame, as_frame=True), aml.predict_proba(frame, as_frame=True))
    np.testing.assert_array_equal(loaded.predict(frame), aml.predict(frame))
    assert loaded.score(frame) == aml.score(frame) and loaded.scorer_.name == "roc_auc"
    for attr in ("task_", "task_reason_", "target_", "metric_", "best_model_name_", "best_trial_", "best_score_",
                 "best_params_", "n_features_in_", "skipped_models_", "timings_", "profile_",
                 "validation_summary_"):
        assert getattr(loaded, attr) == getattr(aml, attr), attr
    np.testing.assert_array_equal(loaded.classes_, aml.classes_)
    np.testing.assert_array_equal(loaded.feature_names_in_, aml.feature_names_in_)
    assert loaded.leaderboard().equals(aml.leaderboard())
    for attr in ("method", "members", "weights", "oof_score", "single_best_score", "scores", "notes", "report"):
        assert getattr(loaded.ensemble_, attr) == getattr(aml.ensemble_, attr), attr
    assert loaded.get_params() == aml.get_params()
    assert not hasattr(loaded, "study_") and loaded.train_sample_ is None and loaded.validation_predictions_ is None
    assert loaded.versions_["automl"] and loaded.versions_["skops"]


def test_the_manifest_says_what_the_file_holds(saved):
    members = _members(saved)
    manifest = json.loads(members.pop("manifest.json"))
    assert manifest["magic"] == "automl-model" and manifest["format"] == archive.FORMAT
    assert manifest["members"] == {name: archive.sha256(data) for name, data in members.items()}
    assert {"model.skops", "leaderboard.json"} <= set(members)
    assert "lightgbm" in [m["model"] for m in manifest["ensemble"]["members"]]
    assert any(name.startswith("native/") and name.endswith("booster.txt") for name in members), "LightGBM's text"
    assert manifest["task"] == "binary" and manifest["metric"]["name"] == "roc_auc"
    assert manifest["classes"]["data"] == ["no", "yes"] and manifest["features"][-1] == "name"
    assert manifest["profile"]["columns"][-1]["role"] == "id" and manifest["settings"]["n_trials"] == 4
    assert manifest["ensemble"]["method"] in ("single", "caruana", "stacking") and manifest["ensemble"]["weights"]
    assert manifest["training_rows_kept"] == 0 and manifest["versions"]["sklearn"]
    pickled = [n for n, data in members.items() if data[:1] == b"\x80"]
    assert pickled == [], "no member is a pickle"


def _forced(method: str):
    """``combiners.select`` that always combines every candidate with ``method``, with a gain
    beyond noise (so that every family's pipeline is a member of the final model)."""

    def select(preds, y, metric, task, n_classes, seed):
        used = np.arange(len(preds))
        combiner = (combiners.WeightedAverage(np.full(len(preds), 1 / len(preds))) if method == "caruana"
                    else combiners.Stacker(task, n_classes).fit(preds, y))
        return {"caruana": 0.0, "stacking": 0.0}, method, combiner, used, combiners.Gain(1.0, 1.0, 0.1, 3)

    return select


@pytest.mark.parametrize("task, method, models", [
    (Task.MULTICLASS, "caruana", ["lightgbm", "xgboost", "mlp", "catboost"]),
    (Task.BINARY, "stacking", ["random_forest", "hist_gradient_boosting", "svm", "gaussian_mixture", "knn"]),
    (Task.REGRESSION, "stacking", ["ridge", "elastic_net", "extra_trees", "decision_tree"]),
], ids=["caruana-boosting-mlp", "stacking-classifiers", "stacking-regressors"])
def test_ensembles_of_every_built_in_family_round_trip(task, method, models, monkeypatch, tmp_path):
    from automl.registry import discover

    specs = discover().specs
    models = [m for m in models if m in specs and not missing_imports(specs[m])]
    monkeypatch.setattr(ensemble_module, "select", _forced(method))
    aml = _fit(task, models, infer_limit=None)
    assert aml.ensemble_.method == method and {m["model"] for m in aml.ensemble_.members} == set(models)
    aml.save(tmp_path / "e.automl")
    _no_pickle(monkeypatch)  # boosters from their text, the MLP's weights with torch's weights-only loader
    loaded = AutoML.load(tmp_path / "e.automl")
    frame = _frame(task, seed=2)
    if task.is_classification:
        pd.testing.assert_frame_equal(loaded.predict_proba(frame, as_frame=True), aml.predict_proba(frame, as_frame=True))
    np.testing.assert_array_equal(loaded.predict(frame), aml.predict(frame))
    assert loaded.ensemble_.members == aml.ensemble_.members
    # The fast path (few rows) is rebuilt at load from the fitted pipelines, and predicts as they do.
    fast = loaded.ensemble_.__dict__.get("_fast")
    assert fast is not None and fast.compiled == len(loaded.ensemble_.pipelines)
    features, k = loaded._features(frame), (len(loaded.classes_) if task.is_classification else 0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batch = [predict_scores(p, features, k) for p in loaded.ensemble_.pipelines]
    for got, want in zip(fast.member_scores(features), batch):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)


# ------------------------------------------------------------------- refusals --
def _refused(path, match: str, capsys) -> None:
    with pytest.raises(ModelFileError, match=match) as info:
        AutoML.load(path)
    assert "\n" not in str(info.value)
    assert main(["info", str(path)]) == 1
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("automl info: ") and "Traceback" not in err[0]


def test_a_file_that_is_not_a_model_is_refused(tmp_path, capsys):
    (tmp_path / "junk.automl").write_bytes(b"not a model at all")
    _refused(tmp_path / "junk.automl", "is not an automl model file .not a zip", capsys)
    with zipfile.ZipFile(tmp_path / "other.automl", "w") as zf:
        zf.writestr("readme.txt", "hello")
    _refused(tmp_path / "other.automl", "is not an automl model file .it has no manifest.json", capsys)
    _refused(tmp_path / "missing.automl", "No model file at", capsys)


def test_a_truncated_file_is_refused(saved, capsys):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    _refused(saved, "is truncated or damaged", capsys)


def test_a_changed_or_added_member_is_refused(saved, capsys):
    members = _members(saved)
    board = json.loads(members["leaderboard.json"])
    board["attrs"] = {"planted": 1}
    _rewrite(saved, {**members, "leaderboard.json": json.dumps(board).encode()}, checksums=False)
    _refused(saved, "tampered with or damaged: the checksum of 'leaderboard.json' does not match", capsys)
    members = _members(saved)
    manifest = json.loads(members.pop("manifest.json"))
    _rewrite(saved, {**members, "extra.bin": b"x"}, manifest, checksums=False)
    _refused(saved, "tampered with: it holds 'extra.bin'", capsys)


def test_a_newer_format_is_refused(saved, capsys):
    members = _members(saved)
    manifest = json.loads(members.pop("manifest.json"))
    _rewrite(saved, members, {**manifest, "format": archive.FORMAT + 1})
    _refused(saved, "written by a newer automl .* upgrade automl", capsys)


def test_an_old_pickled_model_is_not_loaded_and_the_message_says_to_refit(tmp_path, capsys):
    joblib.dump({"magic": "automl-model", "format": 2, "model": None}, tmp_path / "old.automl", compress=3)
    _refused(tmp_path / "old.automl", "older automl .a pickle.*fit the model again", capsys)
    joblib.dump({"magic": "automl-model", "format": 2}, tmp_path / "plain.automl")
    _refused(tmp_path / "plain.automl", "older automl", capsys)


class _Payload:
    """Unpickling it would create the file ``marker``: the proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return open, (self.marker, "w")


def test_a_crafted_pickle_runs_no_code(saved, tmp_path, capsys):
    marker = tmp_path / "pwned"
    payload = pickle.dumps(_Payload(marker))
    pickle.loads(payload).close()  # the payload does run when unpickled: it creates the marker
    assert marker.exists()
    marker.unlink()
    (tmp_path / "raw.automl").write_bytes(payload)
    _refused(tmp_path / "raw.automl", "older automl", capsys)
    joblib.dump(_Payload(marker), tmp_path / "joblib.automl", compress=3)
    _refused(tmp_path / "joblib.automl", "older automl", capsys)
    members = _members(saved)  # inside a model file, with checksums an attacker recomputed
    _rewrite(saved, {**members, "model.skops": payload})
    _refused(saved, "is damaged: its fitted models cannot be read", capsys)
    assert not marker.exists(), "no code ran"


def test_a_crafted_skops_graph_names_the_untrusted_types_and_runs_nothing(saved, tmp_path, capsys):
    marker = tmp_path / "pwned"
    members = _members(saved)
    evil = {"pipelines": [functools.partial(os.system, f"touch {marker}")], "best_model": None, "meta": None}
    _rewrite(saved, {**members, "model.skops": skops_io.dumps(evil)})
    with pytest.raises(UntrustedTypeError, match=r"not trusted, so it is not loaded .nothing in it was run.: "
                                                 r"(posix|nt)\.system"):
        AutoML.load(saved)
    _refused(saved, "not trusted", capsys)
    assert not marker.exists()


def _no_pickle(monkeypatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("pickle used")

    for name in ("loads", "load", "Unpickler"):
        monkeypatch.setattr(pickle, name, refuse)
    monkeypatch.setattr(joblib, "load", refuse)


def test_loading_never_unpickles(binary_fit, saved, monkeypatch):
    _no_pickle(monkeypatch)
    frame = _frame(Task.BINARY, seed=1)
    np.testing.assert_array_equal(AutoML.load(saved).predict_proba(frame), binary_fit.predict_proba(frame))


class LocalTree(DecisionTreeClassifier):
    """A plugin's own estimator class that no plugin declares."""


def _plugin(name: str, **hooks) -> types.ModuleType:
    module = types.ModuleType(name)
    for hook, function in hooks.items():
        setattr(module, hook, hookimpl(function))
    return module


def test_an_undeclared_type_is_refused_until_trusted(tmp_path, capsys):
    spec = ModelSpec("local_tree", frozenset({Task.BINARY}), lambda t, p: {}, lambda p, c: LocalTree(max_depth=3))
    local = _plugin("local", automl_register_models=lambda: [spec])
    aml = AutoML(models=["local_tree"], plugins=[local], n_trials=1, time_budget=None, verbose=0)
    aml.fit(_frame(Task.BINARY), "y")
    assert isinstance(aml.best_model_[-1], DecisionTreeClassifier)
    with pytest.warns(UserWarning, match=f"no installed plugin declares .{type_name(LocalTree)}"):
        aml.save(tmp_path / "local.automl")
    with pytest.raises(UntrustedTypeError, match=type_name(LocalTree)):
        AutoML.load(tmp_path / "local.automl")
    loaded = AutoML.load(tmp_path / "local.automl", trusted=[type_name(LocalTree)])
    frame = _frame(Task.BINARY, seed=3)
    np.testing.assert_array_equal(loaded.predict_proba(frame), aml.predict_proba(frame))
    csv = tmp_path / "new.csv"
    frame.to_csv(csv, index=False)
    assert main(["predict", str(tmp_path / "local.automl"), str(csv)]) == 1
    assert type_name(LocalTree) in capsys.readouterr().err
    assert main(["predict", str(tmp_path / "local.automl"), str(csv), "--trust", type_name(LocalTree)]) == 0


# ------------------------------------------------------------ training rows --
def test_a_default_model_file_holds_no_training_rows(tmp_path):
    train = _frame(Task.BINARY)
    models = ["logistic_regression", "random_forest", "lightgbm", "knn"]
    for keep in (False, True):
        aml = AutoML(models=models, n_trials=4, time_budget=None, cv=3, verbose=0, keep_training_sample=keep)
        aml.fit(train, "y")
        aml.feature_importances()  # cached in the file: numbers, no rows
        path = tmp_path / f"keep_{keep}.automl"
        aml.save(path)
        text = b"".join(_members(path).values())
        found = [name for name in train["name"] if name.encode() in text]
        rows = [line for line in train.to_csv(index=False).splitlines()[1:] if line.encode() in text]
        if keep:  # the check can fail: a kept sample is found
            assert len(found) == len(train) and AutoML.load(path).train_sample_.shape == (300, 7)
        else:
            assert found == [] and rows == [], "no training row, nor any of its names"
            assert "y_true" not in text.decode("latin-1"), "no out-of-fold targets either"


def test_importances_and_the_explanation_computed_before_saving_travel_with_the_file(binary_fit, tmp_path):
    imp = binary_fit.feature_importances()
    text = binary_fit.explain()
    binary_fit.save(tmp_path / "m.automl")
    loaded = AutoML.load(tmp_path / "m.automl")
    pd.testing.assert_frame_equal(loaded.feature_importances(), imp)
    assert loaded.feature_importances().attrs == imp.attrs and loaded.explain() == text
    with pytest.raises(DataError, match="pass data"):
        loaded.feature_importances(n_repeats=3)  # not computed before saving, and no rows to compute it on
    assert loaded.feature_importances(_frame(Task.BINARY, seed=4), n_repeats=3).index[0] == "x0"


# ------------------------------------------------------------------- metrics --
def _share_of_yes(y_true, y_pred):
    return float(np.mean(y_pred == 1))


def test_a_plugin_metric_is_resolved_by_name_and_its_absence_only_stops_scoring(tmp_path):
    metric = MetricSpec("share_of_yes_file", frozenset({Task.BINARY}), _share_of_yes, greater_is_better=False)
    extra = _plugin("metric_plugin", automl_register_metrics=lambda: [metric])
    aml = AutoML(models=["logistic_regression"], plugins=[extra], metric="share_of_yes_file", n_trials=1,
                 time_budget=None, verbose=0).fit(_frame(Task.BINARY), "y")
    aml.save(tmp_path / "m.automl")
    assert json.loads(_members(tmp_path / "m.automl")["manifest.json"])["metric"]["plugin"] == "metric_plugin"
    loaded = AutoML.load(tmp_path / "m.automl")  # the plugin is not installed here
    frame = _frame(Task.BINARY, seed=5)
    np.testing.assert_array_equal(loaded.predict(frame), aml.predict(frame))
    with pytest.raises(DataError, match="metric 'share_of_yes_file' comes from plugin 'metric_plugin'.*install"):
        loaded.score(frame)


def test_a_storage_password_is_not_written():
    assert _redacted("postgresql://me:s3cret@db.example/optuna") == "postgresql://me:***@db.example/optuna"
    assert _redacted("sqlite:///search.db") == "sqlite:///search.db" and _redacted(None) is None


def test_the_cli_explains_a_model_file_with_data_and_without(tmp_path, capsys):
    train = _frame(Task.BINARY)
    data, model = tmp_path / "train.csv", tmp_path / "m.automl"
    train.to_csv(data, index=False)
    assert main(["fit", str(data), "-t", "y", "--out", str(model), "--quiet", "--models", "logistic_regression",
                 "--trials", "2", "--cv", "3"]) == 0
    capsys.readouterr()
    assert main(["explain", str(model), "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert "out of fold" in kept["explanation"] and kept["importances"][0]["feature"] == "x0"
    held_out = tmp_path / "held_out.csv"
    _frame(Task.BINARY, seed=6).to_csv(held_out, index=False)
    assert main(["explain", str(model), str(held_out), "--json"]) == 0
    given = json.loads(capsys.readouterr().out)
    assert "of the data given" in given["explanation"] and given["importances"][0]["feature"] == "x0"
    _frame(Task.BINARY, seed=6).drop(columns="y").to_csv(held_out, index=False)
    assert main(["explain", str(model), str(held_out)]) == 2
    assert "the target 'y' is not a column" in capsys.readouterr().err
    assert main(["info", str(model)]) == 0
    assert "Training rows kept in the file: none" in capsys.readouterr().out
