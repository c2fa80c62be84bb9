"""The package's imports point one way: read from the source with ``ast``, never run.

The stages, lowest first: the base (errors, logging, JSON), the data, the plugin
contract, preprocessing, the search, the final model, the model file, inspection and
reports, the estimator, the command line. A module may import its own stage and the
stages below it, never one above; the contract suite (``automl.testing``) may also use
the preprocessing, to fit models as the search does, and the model file, to check that
a plugin's fitted models round-trip through it. The built-in plugins import only
the public contract (``automl``) and each other. Every import counts, also those inside
functions and under ``TYPE_CHECKING``, and the module graph has no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Stage of each module or package, by the longest matching name; lowest first.
STAGES = [
    ("base", ["automl.exceptions", "automl._logging", "automl._json", "automl.datasets"]),
    ("data", ["automl.data"]),
    ("contract", ["automl", "automl.spec", "automl.hookspecs", "automl.registry", "automl.metrics", "automl.trial"]),
    ("preprocessing", ["automl.preprocessing"]),
    ("search", ["automl.search"]),
    ("final", ["automl.final"]),
    ("model file", ["automl.model_file"]),
    ("inspection", ["automl.inspection", "automl.report"]),
    ("estimator", ["automl.estimator", "automl.predictor"]),
    ("cli", ["automl.cli", "automl.__main__"]),
]
RANK = {prefix: rank for rank, (_, prefixes) in enumerate(STAGES) for prefix in prefixes}
NAMES = [name for name, _ in STAGES]
#: The contract suite fits models through the core's preprocessing, as the search does, and
#: round-trips them through the model file (the stages between are not for it).
TESTING = ("automl.testing", RANK["automl.preprocessing"])
TESTING_ALSO = ("automl.model_file",)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[0] == "plugins":
        parts[0] = "automl_plugins"
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, name: str, modules: set[str]) -> set[str]:
    """The project modules ``path`` imports (``from automl import x`` names the module
    ``automl.x`` when ``x`` is one, else ``automl``)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
    return {m for m in found if m in modules}


def project(root: Path = ROOT) -> dict[str, tuple[Path, set[str]]]:
    """Module name → (file, the project modules it imports), for ``automl`` and the built-in plugins."""
    files = [*root.joinpath("automl").rglob("*.py"), *root.joinpath("plugins").glob("*.py")]
    names = {module_name(p, root): p for p in files}
    return {name: (path, imports(path, name, set(names))) for name, path in names.items()}


def rank(module: str) -> int | None:
    """The stage of ``module`` (None: the contract suite or a plugin, with rules of their own)."""
    if module == TESTING[0] or module.startswith(TESTING[0] + "."):
        return None
    parts = module.split(".")
    for i in range(len(parts), 0, -1):
        if ".".join(parts[:i]) in RANK:
            return RANK[".".join(parts[:i])]
    raise AssertionError(f"{module} is in no stage: add it to STAGES in {Path(__file__).name}")


def violations(graph: dict[str, tuple[Path, set[str]]]) -> list[str]:
    out = []
    for module, (_, deps) in sorted(graph.items()):
        for dep in sorted(deps):
            if module.startswith("automl_plugins"):
                if not (dep == "automl" or dep.startswith("automl_plugins")):
                    out.append(f"{module} imports {dep}: a plugin imports only the public contract (automl)")
                continue
            if dep.startswith("automl_plugins"):
                out.append(f"{module} imports {dep}: the core finds plugins through the registry only")
                continue
            if dep == TESTING[0] or dep.startswith(TESTING[0] + "."):
                if rank(module) is not None and rank(module) < RANK["automl.cli"]:
                    out.append(f"{module} imports {dep}: only the command line runs the contract suite")
                continue
            mine, theirs = rank(module), rank(dep)
            if mine is None and any(dep == p or dep.startswith(p + ".") for p in TESTING_ALSO):
                continue
            limit = TESTING[1] if mine is None else mine
            if theirs > limit:
                who = "the contract suite" if mine is None else f"the {NAMES[mine]} stage"
                out.append(f"{module} imports {dep}: {who} may not import the {NAMES[theirs]} stage")
    return out


def cycles(graph: dict[str, tuple[Path, set[str]]]) -> list[list[str]]:
    """Import cycles (each found once, from its first module in name order)."""
    found, done = [], set()

    def visit(module: str, stack: list[str]) -> None:
        for dep in sorted(graph[module][1]):
            if dep in stack:
                cycle = stack[stack.index(dep):]
                if not any(set(cycle) == set(c) for c in found):
                    found.append(cycle)
            elif dep not in done:
                visit(dep, [*stack, dep])
        done.add(module)

    for module in sorted(graph):
        if module not in done:
            visit(module, [module])
    return found


def private_uses(path: Path, root: Path = ROOT) -> list[str]:
    """``x._name`` on anything but ``self``/``cls`` (a fitted AutoML's private state, say)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls"))):
            out.append(f"{path.relative_to(root)}:{node.lineno} uses .{node.attr}")
    return out


# -------------------------------------------------------------------- tests --


def test_imports_point_to_lower_stages_only():
    assert violations(project()) == []


def test_no_import_cycles():
    assert cycles(project()) == []


@pytest.mark.parametrize("folder", ["inspection", "report"])
def test_inspection_and_reports_use_public_attributes_only(folder):
    problems = [p for path in sorted(ROOT.joinpath("automl", folder).glob("*.py")) for p in private_uses(path)]
    assert problems == []


def test_the_readme_layout_names_every_folder():
    layout = (ROOT / "README.md").read_text().split("## Layout", 1)[1]
    folders = sorted(p.name for p in (ROOT / "automl").iterdir() if (p / "__init__.py").exists())
    assert [f for f in folders if f"`automl/{f}/`" not in layout] == []


# ------------------------------------------------- the rules catch breakage --


def _tree_with(tmp_path: Path, files: dict[str, str]) -> dict[str, tuple[Path, set[str]]]:
    """A copy of the package with ``files`` (path → extra source line) appended."""
    import shutil

    for folder in ("automl", "plugins"):
        shutil.copytree(ROOT / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__", "*.csv.gz"))
    for rel, line in files.items():
        target = tmp_path / rel
        target.write_text(target.read_text() + "\n" + line + "\n")
    return project(tmp_path)


@pytest.mark.parametrize("rel, line, expected", [
    ("automl/spec.py", "from automl.search.budget import Budget", "automl.spec imports automl.search.budget"),
    ("automl/testing/checks.py", "from automl.search.objective import Objective", "the contract suite may not"),
    ("automl/search/study.py", "from automl.estimator import AutoML", "automl.search.study imports automl.estimator"),
    ("automl/search/cv.py", "from automl.cli.main import main", "automl.search.cv imports automl.cli.main"),
    ("plugins/tree.py", "from automl.spec import ModelSpec", "a plugin imports only the public contract"),
    ("automl/report/leaderboard.py", "import automl.estimator", "automl.report.leaderboard imports automl.estimator"),
])
def test_a_forbidden_import_is_caught(tmp_path, rel, line, expected):
    found = violations(_tree_with(tmp_path, {rel: line}))
    assert any(expected in v for v in found), found


def test_a_cycle_is_caught(tmp_path):
    graph = _tree_with(tmp_path, {"automl/metrics.py": "from automl.registry import discover"})
    assert ["automl.metrics", "automl.registry"] in [sorted(c) for c in cycles(graph)]


def test_a_private_attribute_is_caught(tmp_path):
    path = tmp_path / "x.py"
    path.write_text("def f(aml):\n    return aml._scores(1), self._ok\n")
    assert private_uses(path, tmp_path) == ["x.py:2 uses ._scores"]
