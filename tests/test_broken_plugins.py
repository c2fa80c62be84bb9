"""Broken third-party plugins, installed as real entry points: each is reported with its
name and reason (log and ``automl plugins``), and a search with the good ones completes."""

from __future__ import annotations

import logging
import sys
import textwrap

import pytest

from automl import AutoML
from automl.cli import main
from automl.registry import DISABLE_ENV, discover

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
