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
    from automl.serializer import Serializer
    from automl.trial import TrialInfo
    from automl.spec import ModelSpec

PROJECT = "automl"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Bumped when a hook is added or changes in a way a plugin can notice. A plugin that
#: needs a newer version declares ``AUTOML_HOOK_API = N`` (a module or object attribute);
#: an older automl then leaves it out with a message saying to upgrade.
#: 2: ``automl_register_types`` (the types a saved model may hold).
HOOK_API_VERSION = 2


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


# ----------------------------------------------------------- model files ----


@hookspec
def automl_register_types() -> Sequence[str | type | Serializer]:
    """Return the types this plugin's fitted models are made of, so that a saved model loads.

    A model file never holds a pickle: scikit-learn objects are stored with ``skops.io``,
    which rebuilds only trusted types. Classes of scikit-learn, numpy and automl are
    trusted; a plugin names the other classes its fitted models hold (its estimators and
    the objects they keep), as ``"module.Class"`` strings or classes. For objects skops
    cannot store (a native booster, a torch network) it returns a :class:`Serializer`,
    which writes them in a format of its own. Called at every save and load; the results
    of every plugin are collected. Optional: a plugin that does not implement it works
    as before, and its models load when they are made of trusted types.
    Since hook API version 2.
    """
