"""The contract suite as pytest cases: a class to subclass, or cases to parametrize with."""

from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

import optuna
from sklearn.exceptions import ConvergenceWarning
from threadpoolctl import threadpool_limits

from automl.metrics import MetricSpec
from automl.registry import missing_imports
from automl.spec import ModelSpec
from automl.data.task import Task
from automl.testing import checks

#: The model checks, by name, in the order they run.
MODEL_CHECKS: dict[str, Callable[[ModelSpec, Task], None]] = {
    "search_space": checks.check_search_space,
    "fidelity": checks.check_fidelity,
    "clone": checks.check_clone,
    "fit_predict": checks.check_fit_predict,
    "predict_proba": checks.check_predict_proba,
    "pickle": checks.check_pickle,
    "safe_format": checks.check_safe_format,
    "warm_start": checks.check_warm_start,
    "stops_in_time": checks.check_stops_in_time,
    "flags": checks.check_flags,
}


@contextlib.contextmanager
def _quiet_and_single_threaded() -> Iterator[None]:
    """One OpenMP/BLAS thread (tiny fits; spare threads spin on a busy machine), no
    convergence warnings from fits at the lowest fidelity, no Optuna study chatter."""
    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with threadpool_limits(limits=1), warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


@dataclass(frozen=True)
class Case:
    """One check on one plugin, model spec (for one task) or metric spec; call it to run."""

    check: str
    subject: Any
    task: Task | None = None
    skip: str = ""
    #: What the spec's plugin returns from ``automl_register_types`` (for ``safe_format``).
    declared: tuple = ()

    @property
    def name(self) -> str:
        """``"adaboost-binary"``: the subject (and task) without the check."""
        label = getattr(self.subject, "name", None) or getattr(self.subject, "__name__", None) or repr(self.subject)
        return f"{label}-{self.task.value}" if self.task is not None else str(label)

    def __str__(self) -> str:  # a pytest id: "fit_predict-adaboost-binary"
        return f"{self.check}-{self.name}"

    def __call__(self) -> None:
        if self.skip:
            import pytest

            pytest.skip(self.skip)
        with _quiet_and_single_threaded():
            if self.check == "plugin":
                checks.check_plugin(self.subject)
            elif self.check == "metric":
                checks.check_metric(self.subject, self.task)
            elif self.check == "safe_format":
                checks.check_safe_format(self.subject, self.task, self.declared)
            else:
                MODEL_CHECKS[self.check](self.subject, self.task)


def _specs_of(plugins: Sequence[Any], hook: str) -> list:
    return [item for plugin in plugins for item in _returned(plugin, hook)]


def _returned(plugin: Any, hook: str) -> list:
    register = getattr(plugin, hook, None)
    return list(register() or ()) if callable(register) else []


def contract_cases(
    plugins: Sequence[Any] = (), specs: Sequence[ModelSpec] = (), metrics: Sequence[MetricSpec] = ()
) -> list[Case]:
    """Every check for ``plugins`` (modules or objects with hook functions: the plugin
    checks, plus every check of the specs and metrics their hooks return), ``specs`` and
    ``metrics``. Model checks run once per declared task; ``predict_proba`` only for
    classification; a spec whose ``requires`` are not installed is skipped."""
    cases = [Case("plugin", plugin) for plugin in plugins]
    owned = [(spec, ()) for spec in specs] + [
        (spec, tuple(_returned(plugin, "automl_register_types")))
        for plugin in plugins for spec in _returned(plugin, "automl_register_models")
    ]
    for spec, declared in owned:
        missing = missing_imports(spec)
        skip = f"requires {', '.join(missing)}, not installed" if missing else ""
        for task in sorted(spec.tasks, key=lambda t: t.value):
            for check in MODEL_CHECKS:
                if check != "predict_proba" or task.is_classification:
                    cases.append(Case(check, spec, task, skip, declared))
    for metric in [*metrics, *_specs_of(plugins, "automl_register_metrics")]:
        cases.extend(Case("metric", metric, task) for task in sorted(metric.tasks, key=lambda t: t.value))
    return cases


class PluginContract:
    """Subclass as ``class TestMyPlugin(PluginContract)`` and set ``plugins`` (your plugin
    modules or objects) and/or ``specs`` / ``metrics``: pytest then runs every check,
    one test per check, spec and task (``-k fit_predict`` selects a check). The
    ``test_<check>`` methods are made from :data:`CHECKS`, one per check."""

    plugins: Sequence[Any] = ()
    specs: Sequence[ModelSpec] = ()
    metrics: Sequence[MetricSpec] = ()

    def pytest_generate_tests(self, metafunc) -> None:
        import pytest

        if "case" not in metafunc.fixturenames:
            return
        check = metafunc.function.__name__.removeprefix("test_")
        cases = [c for c in contract_cases(self.plugins, self.specs, self.metrics) if c.check == check]
        params = [pytest.param(c, id=c.name) for c in cases] or [
            pytest.param(None, id="none", marks=pytest.mark.skip(reason=f"nothing to run the {check} check on"))
        ]
        metafunc.parametrize("case", params)


def _test(check: str) -> Callable[[PluginContract, Case], None]:
    def test(self: PluginContract, case: Case) -> None:
        case()

    test.__name__ = test.__qualname__ = f"test_{check}"
    test.__doc__ = f"The {check!r} check on every subject it applies to."
    return test


#: Every check, one test method each: a check added to ``MODEL_CHECKS`` runs for every plugin.
CHECKS = ("plugin", *MODEL_CHECKS, "metric")
for _check in CHECKS:
    setattr(PluginContract, f"test_{_check}", _test(_check))
