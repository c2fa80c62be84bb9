"""Which types a model file may rebuild: the allow-list ``skops.io`` loads with.

Trusted are skops' own defaults (builtins, numpy, scipy, scikit-learn estimators), the
classes of scikit-learn (any class its modules define: trees, loss objects, calibrators;
never a function outside ``BASE_TYPES``), automl's own (``AUTOML_TYPES``), the types the
installed plugins declare through ``automl_register_types``, and those the user trusts
explicitly (``AutoML.load(path, trusted=[...])``, ``--trust TYPE``). Anything else is
refused before anything is built, with an error that names the types.
"""

from __future__ import annotations

import functools
import importlib
from dataclasses import dataclass, field
from typing import Iterable

from automl.exceptions import UntrustedTypeError
from automl.serializer import Serializer, check_type_name

#: automl's own classes that a fitted model holds.
AUTOML_TYPES = frozenset({
    "automl.preprocessing.transformers.AsFloat",
    "automl.preprocessing.transformers.AsText",
    "automl.preprocessing.transformers.CategoryPairs",
    "automl.preprocessing.transformers.DatetimeFeatures",
    "automl.preprocessing.transformers.Float32",
    "automl.preprocessing.transformers.NativeCategorical",
    "automl.preprocessing.transformers.SafeNames",
    "automl.preprocessing.transformers.TextFeatures",
    "automl.final.fold_models.FoldAverage",
    "automl.model_file.codec.Stored",
})
#: What scikit-learn estimators hold besides classes (HistGradientBoosting keeps a partial of
#: ``check_array``), and plain containers of numpy and the standard library.
BASE_TYPES = frozenset({
    "numpy.dtype",
    "collections.OrderedDict",
    "collections.defaultdict",
    "functools.partial",
    "sklearn.utils.validation.check_array",
})


@functools.lru_cache(maxsize=4096)
def is_sklearn_class(name: str) -> bool:
    """``name`` is a class defined in a scikit-learn module (functions are not)."""
    if not name.startswith("sklearn."):
        return False
    module, _, attr = name.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError, ValueError):
        return False
    return isinstance(obj, type) and obj.__module__.startswith("sklearn")


@dataclass(frozen=True)
class Trust:
    """The types beyond skops' defaults that may be rebuilt, and the plugins' serializers
    (type name → the ``Serializer`` that stores it)."""

    types: frozenset[str]
    serializers: dict[str, Serializer] = field(default_factory=dict)

    def refused(self, names: Iterable[str]) -> list[str]:
        """The names (from ``skops.io.get_untrusted_types``) this trust does not cover."""
        return sorted(n for n in set(names) if n not in self.types and not is_sklearn_class(n))

    def check(self, names: Iterable[str], where: str) -> None:
        refused = self.refused(names)
        if refused:
            shown = ", ".join(refused[:8]) + (f" and {len(refused) - 8} more" if len(refused) > 8 else "")
            raise UntrustedTypeError(
                f"{where} holds types that are not trusted, so it is not loaded (nothing in it was run): {shown}. "
                "Install the plugin that declares them, or if you trust this file, allow each with "
                "AutoML.load(path, trusted=[...]) or --trust TYPE.")


def make_trust(registry, trusted: Iterable = ()) -> Trust:
    """The trust of ``registry`` (a ``Registry``: the installed plugins' declared types and
    serializers) plus ``trusted``: type names or classes, and ``Serializer`` objects (what
    a plugin's ``automl_register_types`` returns, for a plugin that is not installed)."""
    trusted = list(trusted)
    serializers = dict(registry.serializers)
    for item in trusted:
        if isinstance(item, Serializer):
            serializers.update(dict.fromkeys(item.types, item))
    extra = {check_type_name(t, "trusted") for t in trusted if not isinstance(t, Serializer)}
    types = AUTOML_TYPES | BASE_TYPES | set(registry.types) | extra
    return Trust(frozenset(types), serializers)
