"""Meta-tests: every hook is documented in docs/plugins.md and has a test, and the plugin
docs cover every field a plugin author meets (datasette-style)."""

from __future__ import annotations

import ast
import dataclasses
import inspect
from pathlib import Path

import pytest

from automl import hookspecs
from automl.metrics import MetricSpec
from automl.trial import TrialInfo
from automl.serializer import Serializer
from automl.spec import BuildContext, ModelSpec
from automl.testing import MODEL_CHECKS

ROOT = Path(__file__).resolve().parents[1]
DOCS = (ROOT / "docs" / "plugins.md").read_text()
HOOKS = sorted(name for name, _ in inspect.getmembers(hookspecs, inspect.isfunction) if name.startswith("automl_"))


def signature(name: str) -> str:
    """``automl_trial_finished(trial: TrialInfo) -> None``, from the hookspec's annotations."""
    annotations = dict(getattr(hookspecs, name).__annotations__)
    returns = annotations.pop("return")
    args = ", ".join(f"{arg}: {kind}" for arg, kind in annotations.items())
    return f"{name}({args}) -> {returns}"


def test_there_are_hooks():
    assert {"automl_register_models", "automl_register_metrics", "automl_register_types",
            "automl_trial_finished"} <= set(HOOKS)


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_documented_with_its_signature_and_version(hook):
    assert f"### `{signature(hook)}`" in DOCS, f"docs/plugins.md has no section for {signature(hook)}"
    assert "Since hook API version" in (getattr(hookspecs, hook).__doc__ or ""), f"{hook}: say since which version"


def _test_functions() -> set[str]:
    names = set()
    for path in (ROOT / "tests").glob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_"):
                names.add(node.name)
    return names


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_test(hook):
    assert f"test_hook_{hook}" in _test_functions(), f"write test_hook_{hook} (see tests/test_hooks.py)"


@pytest.mark.parametrize("cls", [ModelSpec, MetricSpec, TrialInfo, BuildContext, Serializer],
                         ids=lambda c: c.__name__)
def test_every_field_a_plugin_meets_is_documented(cls):
    missing = [f.name for f in dataclasses.fields(cls) if f"`{f.name}`" not in DOCS]
    assert not missing, f"docs/plugins.md does not mention {cls.__name__} fields {missing}"


def test_every_contract_check_is_documented():
    missing = [name for name in [*MODEL_CHECKS, "plugin", "metric"] if f"`check_{name}(" not in DOCS]
    assert not missing, f"docs/plugins.md does not describe checks {missing}"


def test_the_readme_links_the_plugin_docs_and_the_docs_link_the_example():
    assert "docs/plugins.md" in (ROOT / "README.md").read_text()
    assert "examples/automl-plugin-example/" in DOCS
    assert (ROOT / "examples" / "automl-plugin-example" / "pyproject.toml").is_file()
