"""Broken third-party plugins, installed as real entry points: each is reported with its
name and reason (log and ``automl plugins``), and a search with the good ones completes."""

from __future__ import annotations

import logging
import sys
import textwrap
import time

import numpy as np
import pandas as pd
import pytest
from faulty_plugins import FAULTY, Plugin
from sklearn.base import clone

from automl import AutoML
from automl.cli import main
from automl.registry import DISABLE_ENV, discover
from automl.search import memory
from automl.search.isolation import isolated

BROKEN = {
    # a misspelled hook name
    "bp_wrong_hook": """
        def automl_register_model():
            return []
    """,
    # a spec missing a field (no build)
    "bp_missing_field": """
        from automl import ModelSpec, Task

        def automl_register_models():
            return [ModelSpec("half_spec", frozenset({Task.BINARY}), lambda trial, profile: {})]
    """,
    # a spec that fails validation
    "bp_invalid_spec": """
        from automl import ModelSpec, Task

        def automl_register_models():
            return [ModelSpec("Bad Name", frozenset({Task.BINARY}), lambda t, p: {}, lambda p, c: None)]
    """,
    # an import error
    "bp_import_error": """
        import surely_not_installed_lib
    """,
    # a model whose fit raises
    "bp_fit_raises": """
        from sklearn.dummy import DummyClassifier
        from automl import ModelSpec, Task

        class Boom(DummyClassifier):
            def fit(self, X, y):
                raise RuntimeError("boom")

        def automl_register_models():
            return [ModelSpec("fit_raises", frozenset({Task.BINARY}), lambda t, p: {}, lambda p, c: Boom())]
    """,
    # and a good third-party plugin beside them
    "bp_good": """
        from sklearn.tree import DecisionTreeClassifier
        from automl import ModelSpec, Task

        def automl_register_models():
            return [ModelSpec("good_tree", frozenset({Task.BINARY}), lambda t, p: {},
                              lambda p, c: DecisionTreeClassifier(max_depth=3, random_state=c.random_state))]
    """,
}
#: What each plugin's message must say, besides the plugin's name.
REASONS = {
    "bp_wrong_hook": "unknown hook(s) 'automl_register_model' (did you mean 'automl_register_models'?)",
    "bp_missing_field": "automl_register_models failed: TypeError:",
    "bp_invalid_spec": "name must be lower_snake_case",
    "bp_import_error": "No module named 'surely_not_installed_lib'",
}


@pytest.fixture
def broken_plugins(tmp_path, monkeypatch):
    """The plugins above as the distribution ``broken-plugins`` (a dist-info on sys.path)."""
    for name, source in BROKEN.items():
        (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
    dist = tmp_path / "broken_plugins-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugins\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text("[automl]\n" + "".join(f"{n} = {n}\n" for n in BROKEN))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in BROKEN:
        sys.modules.pop(name, None)


def test_each_broken_plugin_is_logged_with_its_name_and_reason(broken_plugins, caplog):
    with caplog.at_level(logging.ERROR, logger="automl"):
        registry = discover()
    errors = {p.name: p.error for p in registry.plugins if p.distribution == "broken-plugins"}
    logged = [r.getMessage() for r in caplog.records]
    for name, reason in REASONS.items():
        assert reason in errors[name]
        assert any(f"Plugin {name!r}" in line and reason in line for line in logged), name
    assert "missing 1 required positional argument: 'build'" in errors["bp_missing_field"]
    assert not errors["bp_good"] and not errors["bp_fit_raises"]
    assert {"good_tree", "fit_raises", "lightgbm"} <= set(registry.specs)


def test_automl_plugins_shows_the_reasons_and_check_finds_the_failing_fit(broken_plugins, capsys, monkeypatch):
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out.splitlines()
    for name, reason in REASONS.items():
        line = next(line for line in out if line.startswith(f"{name} (broken-plugins 0.1)"))
        assert "[error: " in line and reason in line
    assert "  fit_raises: tasks=binary fidelity=none flags=-" in out

    monkeypatch.setenv(DISABLE_ENV, "boosting,forest,gmm,knn,mlp,svm,tree")  # keep the check short
    assert main(["plugins", "--check"]) == 1
    out = capsys.readouterr().out
    assert "fit_raises: tasks=binary fidelity=none flags=- check FAILED: binary: default configuration {} " \
           "does not fit a binary task (RuntimeError: boom)" in out
    assert "good_tree: tasks=binary fidelity=none flags=- check: ok" in out
    assert "logistic_regression: tasks=binary,multiclass fidelity=max_iter 20..1000 flags=needs_scaling check: ok" in out


def test_a_search_with_the_good_plugins_completes(broken_plugins, mixed_frame, caplog):
    with caplog.at_level(logging.WARNING, logger="automl"):
        aml = AutoML(models=["logistic_regression", "good_tree", "fit_raises"], n_trials=8, time_budget=None,
                     verbose=0).fit(mixed_frame, "y")
    board = aml.leaderboard()
    failed = board[(board["model"] == "fit_raises") & (board["status"] != "skipped")]
    assert len(failed) >= 1 and (failed["status"] == "failed").all() and (failed["error"] == "RuntimeError: boom").all()
    assert set(board.loc[board["status"] == "ok", "model"]) == {"logistic_regression", "good_tree"}
    assert aml.best_model_name_ == "logistic_regression" and aml.score(mixed_frame) > 0.8
    assert any("(fit_raises, plugin 'bp_fit_raises') failed: RuntimeError: boom" in r.getMessage() for r in caplog.records)
    # Asking for a model of a plugin that failed to load names that plugin and why.
    with pytest.raises(Exception, match="Plugins that failed to load: .*bp_import_error .*surely_not_installed_lib"):
        AutoML(models=["half_spec"], verbose=0).fit(mixed_frame, "y")


# ------------------------------------------------------- models that misbehave --
# Plugins from tests/faulty_plugins.py, third-party to the search: under the default
# isolation="auto" their folds train in a worker process (automl/search/isolation.py).

FAULTS = {
    "fit_raises": "RuntimeError: boom in fit",
    "nan_predictions": "ValueError: nan_predictions predicted 240 NaN or infinite value(s) for the validation rows",
    "inf_predictions": "ValueError: inf_predictions predicted 40 NaN or infinite value(s) for the validation rows",
    "predict_raises": "ValueError: boom in predict",
    "hangs": "TrialTimeLimit: still training after 1 s, the per-trial time limit (trial_time_limit); its worker "
             "process was killed",
    "eats_memory": "MemoryLimitExceeded: went over memory_limit (300 MB) and was stopped in its worker process "
                   "(MemoryError: Unable to allocate 64.0 MiB",
}


@pytest.fixture(scope="module")
def frame_600():
    rng = np.random.default_rng(1)
    n = 600
    df = pd.DataFrame({"x0": rng.normal(size=n), "x1": rng.normal(size=n), "cat": rng.choice(list("abc"), n)})
    df["y"] = (df["x0"] + (df["cat"] == "a") + 0.3 * rng.normal(size=n) > 0.3).astype(int)
    return df


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_a_faulty_model_never_takes_the_fit_down(name, frame_600):
    """Its trials are recorded with the reason, its family is skipped after three failures
    in a row, and the fit ends within 1.05 x budget + 2 s with a model that predicts."""
    budget = 20 if name in ("hangs", "eats_memory") else 10
    # the hang is stopped by the time limit; the hog by the memory limit, however slow the machine
    extra = {"trial_time_limit": {"hangs": 1, "eats_memory": 10}[name]} if name in ("hangs", "eats_memory") else {}
    t0 = time.monotonic()
    aml = AutoML(time_budget=budget, models=["logistic_regression", "decision_tree", name], memory_limit=300,
                 plugins=[Plugin(name, FAULTY[name])], verbose=0, seed=0, **extra).fit(frame_600, "y")
    elapsed = time.monotonic() - t0
    assert elapsed <= 1.05 * budget + 2, f"fit took {elapsed:.1f} s"
    board = aml.leaderboard()
    mine = board[board["model"] == name]
    tried, skipped = mine[mine["status"] != "skipped"], mine[mine["status"] == "skipped"]
    assert len(tried) >= 1 and (tried["status"] == "failed").all(), mine[["status", "error"]]
    assert tried["error"].str.startswith(FAULTS[name]).all(), tried["error"].tolist()
    assert len(tried) <= 3, "a family that failed 3 times in a row is not trained again"
    assert len(skipped) <= 1, "given up on after 3 failures: not drawn again (a queued default may still come)"
    assert (skipped["error"] == f"{name} failed 3 times in a row; not trained again").all()
    assert aml.best_model_name_ in ("logistic_regression", "decision_tree") and aml.score(frame_600) > 0.8
    assert aml.predict(frame_600).shape == (600,)


def test_a_worker_process_gives_the_same_trials_as_this_process(frame_600):
    """isolation="process" trains the built-in models in the worker: the same scores, rung by
    rung (LightGBM resumes its booster and the forest its trees there, as here)."""
    settings = dict(models=["lightgbm", "random_forest"], n_trials=2, time_budget=None,
                    verbose=0, seed=0)
    here = AutoML(isolation="none", **settings).fit(frame_600, "y").leaderboard()
    there = AutoML(isolation="process", **settings).fit(frame_600, "y").leaderboard()
    columns = ["model", "status", "score", "rung", "resource", "note"]
    pd.testing.assert_frame_equal(here[columns].sort_index(), there[columns].sort_index())
    # three rungs climbed, training on from rung to rung; or a rung stopped once it scored worse
    # than the one before on its first folds (rung_gain.py): the same fold scores in both notes
    assert all(r == 2 or "scored worse at rung" in n for r, n in zip(here["rung"], here["note"].fillna("")))
    assert set(here.loc[here["model"] == "random_forest", "rung"]) == {2}


def test_a_model_predicted_to_need_more_than_memory_limit_is_skipped(frame_600, monkeypatch):
    monkeypatch.setitem(memory.FACTORS, "random_forest", (10**6, 0, 50))  # 480 rows x 5 columns x 8 B x 1e6: 19 GB
    aml = AutoML(models=["logistic_regression", "random_forest"], memory_limit="2GB", n_trials=6, time_budget=None,
                 verbose=0).fit(frame_600, "y")
    board = aml.leaderboard()
    forest = board[board["model"] == "random_forest"]
    assert len(forest) and (forest["status"] == "skipped").all()
    assert forest["error"].str.fullmatch(r"predicted to need about 17\.9 GB on 480 rows x 5 columns, over "
                                         r"memory_limit \(2\.0 GB\); not trained").all(), forest["error"].tolist()
    assert set(board.loc[board["status"] == "ok", "model"]) == {"logistic_regression"}


def test_memory_limit_values():
    assert memory.parse_limit(None) is None
    assert memory.parse_limit(512) == 512 * 2**20 and memory.parse_limit("4GB") == 4 * 2**30
    assert memory.parse_limit("1.5 gb") == int(1.5 * 2**30) and memory.parse_limit("300MB") == 300 * 2**20
    available = memory.available_bytes()
    assert 0 < memory.parse_limit("auto") <= available
    for bad in ("lots", "-1GB", 0, True, [1]):
        with pytest.raises(ValueError, match="memory_limit"):
            memory.parse_limit(bad)
    with pytest.raises(Exception, match="memory_limit must be"):
        AutoML(memory_limit="lots").fit(pd.DataFrame({"x": [1, 2] * 10, "y": [0, 1] * 10}), "y")
    with pytest.raises(Exception, match="isolation must be one of 'auto', 'process', 'none'"):
        AutoML(isolation="thread").fit(pd.DataFrame({"x": [1, 2] * 10, "y": [0, 1] * 10}), "y")
    assert memory.predicted_bytes("extra_trees", 1000, 10) == 1000 * (10 * 8 * 2 + 20_000) + 50 * 2**20
    assert memory.predicted_bytes("a_plugin_model", 1000, 10) == 1000 * 10 * 8 * 10 + 50 * 2**20
    assert clone(AutoML(memory_limit="4GB", isolation="process", trial_time_limit=3)).get_params()["memory_limit"] == "4GB"


def test_large_allocations_get_their_own_pages_unless_the_user_chose(monkeypatch, frame_600):
    """A search sets glibc's mmap threshold (freed buffers return to the system), once per
    objective; a threshold the user set in the environment is left alone."""
    calls = []
    monkeypatch.setitem(memory._LIBC, "mallopt", lambda option, value: calls.append((option, value)))
    monkeypatch.delenv("MALLOC_MMAP_THRESHOLD_", raising=False)
    AutoML(models=["logistic_regression"], n_trials=1, time_budget=None, cv=2).fit(frame_600, "y")
    assert calls == [(-3, memory.MMAP_THRESHOLD)]
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", "4194304")
    memory.map_large_allocations()
    assert len(calls) == 1


def test_the_built_in_models_train_here_and_third_party_ones_in_the_worker():
    from automl_plugins import linear

    spec = linear.automl_register_models()[0]
    faulty = Plugin("hangs", FAULTY["hangs"]).automl_register_models()[0]
    assert not isolated(spec, "auto") and isolated(faulty, "auto")
    assert isolated(spec, "process") and not isolated(faulty, "none")
