"""The hooks a plugin may implement.

A plugin is any module or object with functions named after these hooks; mark them
with :data:`automl.hookimpl` (or name them exactly; every ``automl_*`` function of a
plugin is taken as a hook implementation, so a misspelled one is caught). Plugins are
found through the ``automl`` entry-point group; the built-in models use it too.

Every hook is called on every plugin that implements it: results are collected, none
is ``firstresult`` (the first non-None result never wins over the others). Hooks take
keyword arguments; an implementation may accept fewer arguments than its spec, so a
spec can gain arguments without breaking plugins. ``docs/plugins.md`` documents each
hook; a meta-test keeps that page and the tests in step with this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from automl.metrics import MetricSpec
    from automl.trial import TrialInfo
    from automl.spec import ModelSpec

PROJECT = "automl"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Bumped when a hook is added or changes in a way a plugin can notice. A plugin that
#: needs a newer version declares ``AUTOML_HOOK_API = N`` (a module or object attribute);
#: an older automl then leaves it out with a message saying to upgrade.
HOOK_API_VERSION = 1


# ---------------------------------------------------------------- models ----


@hookspec
def automl_register_models() -> Sequence[ModelSpec]:
    """Return the model specifications this plugin contributes.

    Called once per discovery. Every result is collected (no first-result-wins);
    model names must be unique across all plugins. Since hook API version 1.
    """


# --------------------------------------------------------------- metrics ----


@hookspec
def automl_register_metrics() -> Sequence[MetricSpec]:
    """Return the metrics this plugin contributes, selectable as ``AutoML(metric=name)``.

    Called once per discovery. Every result is collected (no first-result-wins);
    metric names must be unique across all plugins and differ from scikit-learn scorer
    names. Since hook API version 1.
    """


# ---------------------------------------------------------------- search ----


@hookspec
def automl_trial_finished(trial: TrialInfo) -> None:
    """Observe one finished trial of the search (e.g. to log it to an experiment tracker).

    Called after every trial that ran, whatever its state (ok, pruned, stopped,
    failed), in the search's process. The return value is ignored. An exception is
    logged with the plugin's name and never stops the search; an observer that raises
    three times in a row is not called again in that search. Since hook API version 1.
    """
