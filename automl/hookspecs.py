"""The hooks a plugin may implement.

A plugin is any module or object with functions named after these hooks; mark them
with :data:`automl.hookimpl` (or name them exactly; every ``automl_*`` function of a
plugin is taken as a hook implementation, so a misspelled one is caught). Plugins are
found through the ``automl`` entry-point group; the built-in models use it too.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import pluggy

if TYPE_CHECKING:  # pragma: no cover
    from automl.spec import ModelSpec

PROJECT = "automl"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)

#: Bumped when a hook changes in a way a plugin can notice.
HOOK_API_VERSION = 1


# ---------------------------------------------------------------- models ----


@hookspec
def automl_register_models() -> Sequence["ModelSpec"]:
    """Return the model specifications this plugin contributes.

    Called once per discovery. Every result is collected (no first-result-wins);
    model names must be unique across all plugins. Since hook API version 1.
    """
