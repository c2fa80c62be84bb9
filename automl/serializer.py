"""What a plugin declares so that its fitted models load from a model file without pickle.

A model file (``AutoML.save``) stores scikit-learn objects with ``skops.io``, which
rebuilds only the types it is told to trust. A plugin's hook ``automl_register_types``
returns the types its fitted models are made of (names such as
``"my_package.models.MyEstimator"``, or the classes) and, for objects skops cannot
store (a native booster, a torch network), a :class:`Serializer`: two functions that
turn such an object into files of plain data and back, without running code from them.

:func:`encode_plain` and :func:`decode_plain` turn plain attribute values (numbers,
strings, lists, dicts, numpy scalars and arrays) into JSON data and back, for a
serializer's own JSON file.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from automl.exceptions import PluginError

_TYPE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)+$")
#: A serializer's file names: letters, digits, ``_ - .``; no folders.
FILE_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$")


def type_name(obj: Any) -> str:
    """``"module.QualName"`` of a class, or of an object's class."""
    cls = obj if isinstance(obj, type) else type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"


def check_type_name(name: Any, who: str) -> str:
    """``name`` as a type name string (a class is turned into its name); PluginError otherwise."""
    if isinstance(name, type):
        return type_name(name)
    if not isinstance(name, str) or not _TYPE_NAME.match(name):
        raise PluginError(f"{who}: a type is a class or its dotted name 'module.Class', got {name!r}.")
    return name


@dataclass(frozen=True)
class Serializer:
    """Stores fitted objects of ``types`` (exact classes, by name) in files of its own format.

    ``dump(obj) -> {file name: bytes}``: plain data only (a native model format, JSON,
    raw tensors), names matching ``FILE_NAME``. ``load(type_name, files) -> obj``: rebuilds
    the object from those files without running code they name (no pickle), for any of
    ``types``. ``plugin`` is set by the core.
    """

    types: tuple[str, ...]
    dump: Callable[[Any], Mapping[str, bytes]]
    load: Callable[[str, Mapping[str, bytes]], Any]
    description: str = ""
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        who = f"Serializer {self.description or self.types!r}"
        if isinstance(self.types, (str, type)):
            object.__setattr__(self, "types", (self.types,))
        names = tuple(check_type_name(t, who) for t in self.types)
        if not names:
            raise PluginError(f"{who}: types is empty; name the classes it stores.")
        object.__setattr__(self, "types", names)
        for attr in ("dump", "load"):
            if not callable(getattr(self, attr)):
                raise PluginError(f"{who}: {attr} must be callable.")


# -------------------------------------------------------------- plain values --
_FLOATS = {"nan": math.nan, "inf": math.inf, "-inf": -math.inf}


def _float(x: float) -> Any:
    return x if math.isfinite(x) else {"__float__": "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")}


def encode_plain(value: Any) -> Any:
    """``value`` as JSON data (dicts, lists, str, int, float, bool, None): numpy scalars and
    arrays keep their dtype, tuples stay tuples, dict keys may be any plain value, NaN and
    infinities survive. Anything else raises ``TypeError`` naming its type."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, np.generic):
        return {"__scalar__": value.dtype.str, "value": encode_plain(value.item())}
    if isinstance(value, np.ndarray):
        if value.dtype.kind not in "biufUO":
            raise TypeError(f"numpy arrays of dtype {value.dtype} are not plain values")
        items = [encode_plain(v) for v in value.ravel().tolist()]
        return {"__ndarray__": value.dtype.str, "shape": list(value.shape), "data": items}
    if isinstance(value, tuple):
        return {"__tuple__": [encode_plain(v) for v in value]}
    if isinstance(value, list):
        return [encode_plain(v) for v in value]
    if isinstance(value, Mapping):
        if all(isinstance(k, str) and not k.startswith("__") for k in value):
            return {k: encode_plain(v) for k, v in value.items()}
        return {"__items__": [[encode_plain(k), encode_plain(v)] for k, v in value.items()]}
    raise TypeError(f"a {type_name(value)} is not a plain value (numbers, strings, lists, dicts, numpy arrays)")


def decode_plain(data: Any) -> Any:
    """The value :func:`encode_plain` encoded (builds only numbers, strings, containers and
    numpy scalars and arrays)."""
    if isinstance(data, list):
        return [decode_plain(v) for v in data]
    if not isinstance(data, dict):
        return data
    if "__float__" in data:
        return _FLOATS[data["__float__"]]
    if "__scalar__" in data:
        return np.asarray(decode_plain(data["value"]), dtype=_dtype(data["__scalar__"]))[()]
    if "__ndarray__" in data:
        dtype = _dtype(data["__ndarray__"])
        items = [decode_plain(v) for v in data["data"]]
        if dtype.kind == "O":
            array = np.empty(len(items), dtype=object)
            for i, item in enumerate(items):
                array[i] = item
        else:
            array = np.array(items, dtype=dtype)
        return array.reshape([int(n) for n in data["shape"]])
    if "__tuple__" in data:
        return tuple(decode_plain(v) for v in data["__tuple__"])
    if "__items__" in data:
        return {_hashable(decode_plain(k)): decode_plain(v) for k, v in data["__items__"]}
    return {k: decode_plain(v) for k, v in data.items()}


def _hashable(key: Any) -> Any:
    return tuple(key) if isinstance(key, list) else key


def _dtype(text: Any) -> np.dtype:
    dtype = np.dtype(str(text))
    if dtype.kind not in "biufUO":
        raise ValueError(f"unexpected dtype {text!r} in plain data")
    return dtype
