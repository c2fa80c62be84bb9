"""Plugin discovery: entry points of the ``automl`` group, loaded into pluggy.

Steps (pytest / tox style): add the hookspecs, load every entry point of the group
(the built-in models are entry points of this distribution too), skip blocked
names, reject plugins whose hooks are unknown (misspelled) or that need a newer hook
API, collect the specs, metrics and model-file types of each plugin separately so that
one broken plugin cannot take the others down, and list the trial observers.
"""

from __future__ import annotations

import difflib
import importlib.util
import logging
import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable, Sequence

import pluggy

from automl import hookspecs
from automl.exceptions import PluginError
from automl.metrics import MetricSpec
from automl.serializer import Serializer, check_type_name
from automl.spec import ModelSpec
from automl.data.task import Task

log = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "automl"
#: Comma-separated plugin (entry-point) names not to load.
DISABLE_ENV = "AUTOML_DISABLE_PLUGINS"
_HOOK_PREFIX = "automl_"
#: The attribute a plugin sets to the hook API version it needs (see hookspecs.HOOK_API_VERSION).
API_ATTR = "AUTOML_HOOK_API"


@dataclass
class PluginInfo:
    """One plugin as discovery saw it."""

    name: str
    distribution: str = ""
    version: str = ""
    models: list[str] = field(default_factory=list)
    metrics: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    hooks: list[str] = field(default_factory=list)
    error: str = ""
    disabled: bool = False


@dataclass
class Registry:
    """The result of discovery: usable specs, plugins and the reasons for what was left out,
    the plugins' metrics by name, the trial observers as (plugin name, function), the types
    plugins declare for model files (type name → plugin) and their serializers (type name →
    the ``Serializer`` that stores objects of that type)."""

    specs: dict[str, ModelSpec]
    plugins: list[PluginInfo]
    skipped: dict[str, str]
    metrics: dict[str, MetricSpec] = field(default_factory=dict)
    observers: list[tuple[str, Callable[..., Any]]] = field(default_factory=list)
    types: dict[str, str] = field(default_factory=dict)
    serializers: dict[str, Serializer] = field(default_factory=dict)

    def select(
        self,
        task: Task,
        n_rows: int,
        models: Sequence[str] | None = None,
        exclude: Sequence[str] | None = (),
    ) -> tuple[list[ModelSpec], dict[str, str]]:
        """Specs usable for ``task`` on ``n_rows`` rows, and why each other one is not
        (``models`` None: all of them; ``exclude`` None: none left out)."""
        exclude = () if exclude is None else exclude
        known = set(self.specs) | set(self.skipped)
        for name in [*(models or ()), *exclude]:
            if name not in known:
                hint = difflib.get_close_matches(name, sorted(known), n=3)
                broken = [f"{p.name} ({p.error})" for p in self.plugins if p.error and not p.models]
                raise PluginError(
                    f"Unknown model {name!r}."
                    + (f" Did you mean {', '.join(map(repr, hint))}?" if hint else "")
                    + f" Available models: {', '.join(sorted(known))}."
                    + (f" Plugins that failed to load: {'; '.join(broken)}." if broken else "")
                )
        chosen, reasons = [], {}
        for name, spec in self.specs.items():
            if models is not None and name not in models:
                continue
            if name in exclude:
                reasons[name] = "excluded by the user"
            elif not spec.supports(task):
                reasons[name] = f"does not support {task.value} tasks"
            elif spec.max_rows is not None and n_rows > spec.max_rows:
                reasons[name] = f"{n_rows} training rows exceed its limit of {spec.max_rows} (too costly)"
            else:
                chosen.append(spec)
        for name, why in self.skipped.items():
            if models is None or name in models:
                reasons[name] = why
        return chosen, reasons


class _Manager(pluggy.PluginManager):
    """Takes every ``automl_*`` function of a plugin as a hook implementation, marked or not,
    so that a misspelled hook name is found instead of silently ignored."""

    def parse_hookimpl_opts(self, plugin: Any, name: str):  # type: ignore[override]
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith(_HOOK_PREFIX):
            method = getattr(plugin, name, None)
            if callable(method) and not isinstance(method, type):
                opts = {}
        return opts


def make_plugin_manager() -> pluggy.PluginManager:
    pm = _Manager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    return pm


def _unknown_hooks(pm: pluggy.PluginManager, plugin: Any) -> list[str]:
    return [hc.name for hc in pm.get_hookcallers(plugin) or [] if not hc.has_spec()]


def _hook_names() -> list[str]:
    return [n for n in dir(hookspecs) if n.startswith(_HOOK_PREFIX)]


def register_plugin(pm: pluggy.PluginManager, plugin: Any, name: str) -> None:
    """Register ``plugin``; raise :class:`PluginError` if it defines an unknown hook, a hook
    with arguments its spec does not have, or needs a newer hook API than this automl's."""
    needed = getattr(plugin, API_ATTR, None)
    if needed is not None and (not isinstance(needed, int) or needed > hookspecs.HOOK_API_VERSION):
        raise PluginError(
            f"Plugin {name!r} needs automl hook API version {needed!r}; this automl provides version "
            f"{hookspecs.HOOK_API_VERSION}. Upgrade automl (pip install -U automl) or an older version of the plugin."
        )
    try:
        pm.register(plugin, name=name)
    except pluggy.PluginValidationError as exc:  # pluggy's message names the plugin, on several lines
        raise PluginError("; ".join(line.strip() for line in str(exc).splitlines() if line.strip())) from None
    unknown = _unknown_hooks(pm, plugin)
    if unknown:
        pm.unregister(plugin)
        hints = []
        for bad in unknown:
            close = difflib.get_close_matches(bad, _hook_names(), n=1)
            hints.append(f"{bad!r}" + (f" (did you mean {close[0]!r}?)" if close else ""))
        raise PluginError(
            f"Plugin {name!r} implements unknown hook(s) {', '.join(hints)}; "
            f"known hooks: {', '.join(_hook_names())}."
        )


def missing_imports(spec: ModelSpec) -> list[str]:
    missing = []
    for mod in spec.requires:
        try:
            found = importlib.util.find_spec(mod) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(mod)
    return missing


def disabled_from_env() -> set[str]:
    return {n.strip() for n in os.environ.get(DISABLE_ENV, "").split(",") if n.strip()}


def _call_register(impl, info: PluginInfo, kind: type | tuple) -> list | None:
    """The objects one plugin's ``automl_register_*`` hook returns, or None (error recorded)."""
    hook = "automl_register_" + ("types" if kind is _TYPES else "models" if kind is ModelSpec else "metrics")
    try:  # called implementation by implementation, so that one raising plugin is isolated
        result = list(impl.function() or ())
        bad = [r for r in result if not isinstance(r, kind)]
        if bad:
            what = "a type name, class or Serializer" if kind is _TYPES else f"a {kind.__name__}"
            raise PluginError(f"it returned a {type(bad[0]).__name__}, not {what}")
        if kind is _TYPES:
            result = [r if isinstance(r, Serializer) else check_type_name(r, f"Plugin {info.name!r}") for r in result]
    except Exception as exc:  # a plugin's bug must not stop discovery
        info.error = f"{hook} failed: {type(exc).__name__}: {exc}"
        log.error("Plugin %r skipped: %s", info.name, info.error)
        return None
    return result


def _collect_specs(pm, infos: dict[str, PluginInfo]) -> tuple[dict[str, ModelSpec], dict[str, str]]:
    specs: dict[str, ModelSpec] = {}
    skipped: dict[str, str] = {}
    for impl in pm.hook.automl_register_models.get_hookimpls():  # registration order
        info = infos[impl.plugin_name]
        result = _call_register(impl, info, ModelSpec)
        for spec in result or ():
            if spec.name in specs or spec.name in skipped:
                owner = specs[spec.name].plugin if spec.name in specs else "another plugin"
                info.error = f"model {spec.name!r} is already registered by plugin {owner!r}"
                log.error("Plugin %r: %s; its version is ignored.", info.name, info.error)
                continue
            object.__setattr__(spec, "plugin", info.name)
            info.models.append(spec.name)
            missing = missing_imports(spec)
            if missing:
                skipped[spec.name] = f"requires {', '.join(missing)}, not installed (pip install {' '.join(missing)})"
                log.info("Model %r skipped: %s", spec.name, skipped[spec.name])
            else:
                specs[spec.name] = spec
    return specs, skipped


def _collect_metrics(pm, infos: dict[str, PluginInfo]) -> dict[str, MetricSpec]:
    metrics: dict[str, MetricSpec] = {}
    for impl in pm.hook.automl_register_metrics.get_hookimpls():
        info = infos[impl.plugin_name]
        for metric in _call_register(impl, info, MetricSpec) or ():
            if metric.name in metrics:
                info.error = f"metric {metric.name!r} is already registered by plugin {metrics[metric.name].plugin!r}"
                log.error("Plugin %r: %s; its version is ignored.", info.name, info.error)
                continue
            object.__setattr__(metric, "plugin", info.name)
            info.metrics.append(metric.name)
            metrics[metric.name] = metric
    return metrics


_TYPES = (str, type, Serializer)


def _collect_types(pm, infos: dict[str, PluginInfo]) -> tuple[dict[str, str], dict[str, Serializer]]:
    """The type names plugins declare (name → plugin) and their serializers (type name → one)."""
    types: dict[str, str] = {}
    serializers: dict[str, Serializer] = {}
    for impl in pm.hook.automl_register_types.get_hookimpls():
        info = infos[impl.plugin_name]
        for item in _call_register(impl, info, _TYPES) or ():
            if isinstance(item, Serializer):
                taken = [t for t in item.types if t in serializers]
                if taken:
                    owner = serializers[taken[0]].plugin
                    info.error = f"type {taken[0]!r} already has a serializer from plugin {owner!r}"
                    log.error("Plugin %r: %s; its serializer is ignored.", info.name, info.error)
                    continue
                object.__setattr__(item, "plugin", info.name)
                serializers.update(dict.fromkeys(item.types, item))
                names = item.types
            else:
                names = (item,)
            for name in names:
                types.setdefault(name, info.name)
                info.types.append(name)
    return types, serializers


def _keyword_caller(impl) -> Callable[..., Any]:
    """Call a hook implementation with the keyword arguments it takes (pluggy's rule: an
    implementation may accept fewer arguments than its spec)."""

    def call(**kwargs: Any) -> Any:
        return impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})

    return call


def discover(disabled: Iterable[str] = (), plugins: Sequence[Any] = ()) -> Registry:
    """Load the plugins of the ``automl`` entry-point group plus ``plugins`` objects.

    ``disabled`` (and the ``AUTOML_DISABLE_PLUGINS`` environment variable) name
    plugins not to load. A broken entry-point plugin is recorded with its error and
    logged; objects passed in ``plugins`` raise at once (they are the caller's code).
    """
    blocked = set(disabled) | disabled_from_env()
    pm = make_plugin_manager()
    infos: dict[str, PluginInfo] = {}
    for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        dist = getattr(ep, "dist", None)
        info = PluginInfo(ep.name, dist.name if dist else "", dist.version if dist else "")
        infos[ep.name] = info
        if ep.name in blocked:
            info.disabled = True
            log.info("Plugin %r disabled.", ep.name)
            continue
        try:
            register_plugin(pm, ep.load(), ep.name)
        except Exception as exc:  # import errors, unknown hooks ...
            info.error = f"{type(exc).__name__}: {exc}"
            log.error("Plugin %r skipped: %s", ep.name, info.error)
    for i, obj in enumerate(plugins):
        name = getattr(obj, "__name__", None) or f"{type(obj).__name__}-{i}"
        register_plugin(pm, obj, name)
        infos[name] = PluginInfo(name, distribution="(passed to AutoML)")
    for name, info in infos.items():
        plugin = pm.get_plugin(name)
        if plugin is not None:
            info.hooks = sorted(hc.name for hc in pm.get_hookcallers(plugin) or [])
    specs, skipped = _collect_specs(pm, infos)
    metrics = _collect_metrics(pm, infos)
    types, serializers = _collect_types(pm, infos)
    observers = [(impl.plugin_name, _keyword_caller(impl)) for impl in pm.hook.automl_trial_finished.get_hookimpls()]
    unknown_blocked = blocked - set(infos)
    if unknown_blocked:
        log.warning("Disabled plugin name(s) %s match no installed plugin.", sorted(unknown_blocked))
    return Registry(specs=specs, plugins=list(infos.values()), skipped=skipped, metrics=metrics, observers=observers,
                    types=types, serializers=serializers)
