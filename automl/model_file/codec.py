"""Fitted objects (pipelines, ensembles' members) to files that load without running code.

:func:`encode` walks the object graph; every object whose exact type a plugin's
``Serializer`` stores (a LightGBM or XGBoost model, the torch MLP) is replaced by a
:class:`Stored` placeholder and written by that serializer into files of its own format
(``native/<key>/<file>``); the rest goes through ``skops.io`` in one graph (shared
objects stay shared). :func:`decode` checks the graph's types against a :class:`Trust`
before skops builds anything, then puts the serializers' objects back in place.
"""

from __future__ import annotations

import copy
import io
import json
import types
import zipfile
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

from automl.exceptions import ModelFileError, UntrustedTypeError
from automl.model_file.trust import Trust
from automl.serializer import FILE_NAME, Serializer, type_name

NATIVE = "native"


def _skops():
    """``skops.io``, imported on first use: it imports every scikit-learn module (and torch,
    when installed, through scikit-learn's array-API shims), seconds that ``fit`` and
    ``predict`` need not pay."""
    from skops import io as skops_io

    return skops_io


class Stored:
    """Stands in the skops graph for an object stored by a plugin's serializer."""

    def __init__(self, type_name: str = "", key: str = ""):
        self.type_name, self.key = type_name, key

    def __repr__(self) -> str:
        return f"Stored({self.type_name!r}, {self.key!r})"


@dataclass
class Encoded:
    """A graph of fitted objects as files: ``graph`` (skops), ``natives`` (member name →
    bytes) and ``index`` (one entry per stored object: key, type, plugin, files)."""

    graph: bytes
    natives: dict[str, bytes] = field(default_factory=dict)
    index: list[dict] = field(default_factory=list)


_LEAVES = (str, bytes, int, float, bool, complex, type, np.generic, types.FunctionType, types.BuiltinFunctionType,
           types.MethodType, types.ModuleType)


def _walk(obj: Any, visit, memo: dict[int, Any]) -> Any:
    """``obj`` with ``visit(x)`` (None: keep looking inside) applied to everything it holds;
    containers and objects are copied only where something inside them changed."""
    if obj is None or isinstance(obj, _LEAVES):
        return obj
    key = id(obj)
    if key in memo:
        return memo[key]
    memo[key] = obj  # a cycle back to this object leaves it as it is
    out = visit(obj)
    memo[key] = _inside(obj, visit, memo) if out is None else out
    return memo[key]


def _inside(obj: Any, visit, memo: dict[int, Any]) -> Any:
    if isinstance(obj, np.ndarray):
        if obj.dtype != object:
            return obj
        items = [_walk(x, visit, memo) for x in obj.flat]
        if all(a is b for a, b in zip(items, obj.flat)):
            return obj
        out = np.empty(obj.shape, dtype=object)
        for i, item in enumerate(items):
            out.flat[i] = item
        return out
    if type(obj) in (list, tuple):
        items = [_walk(x, visit, memo) for x in obj]
        return obj if all(a is b for a, b in zip(items, obj)) else type(obj)(items)
    if isinstance(obj, dict):
        values = {k: _walk(v, visit, memo) for k, v in obj.items()}
        if all(values[k] is v for k, v in obj.items()):
            return obj
        out = copy.copy(obj)
        out.update(values)
        return out
    state = getattr(obj, "__dict__", None)
    if not isinstance(state, dict):
        return obj
    changed = {k: new for k, v in list(state.items()) if (new := _walk(v, visit, memo)) is not v}
    if not changed:
        return obj
    out = copy.copy(obj)
    vars(out).update(changed)
    return out


def encode(obj: Any, serializers: Mapping[str, Serializer]) -> Encoded:
    """``obj`` as files (see the module docstring); ``serializers``: type name → Serializer."""
    natives: dict[str, bytes] = {}
    index: list[dict] = []

    def visit(x: Any):
        name = type_name(x)
        serializer = serializers.get(name)
        if serializer is None:
            return None
        key = str(len(index))
        try:
            files = dict(serializer.dump(x))
        except Exception as exc:
            raise ModelFileError(f"cannot save a {name}: the serializer of plugin {serializer.plugin!r} failed "
                                 f"({type(exc).__name__}: {exc}).") from exc
        for file, data in files.items():
            if not (isinstance(file, str) and FILE_NAME.match(file) and isinstance(data, (bytes, bytearray))):
                raise ModelFileError(f"cannot save a {name}: the serializer of plugin {serializer.plugin!r} must "
                                     f"return {{file name: bytes}}, got {file!r}: {type(data).__name__}.")
            natives[f"{NATIVE}/{key}/{file}"] = bytes(data)
        index.append({"key": key, "type": name, "plugin": serializer.plugin, "files": sorted(files)})
        return Stored(name, key)

    graph = _walk(obj, visit, {})
    try:
        data = _skops().dumps(graph)
    except Exception as exc:
        raise ModelFileError(f"cannot save the model: {type(exc).__name__}: {exc}; a plugin whose objects skops "
                             "cannot store declares a Serializer for them (docs/plugins.md).") from exc
    return Encoded(data, natives, index)


def untrusted(encoded: Encoded, trust: Trust) -> list[str]:
    """The types of ``encoded`` that ``trust`` does not cover (its graph's and its stored objects')."""
    names = _skops().get_untrusted_types(data=encoded.graph)
    natives = [e["type"] for e in encoded.index if e["type"] not in trust.serializers]
    return sorted(set(trust.refused(names)) | set(natives))


def _named(graph: bytes) -> set[str]:
    """Every ``module.name`` the skops graph names (a superset of the types skops checks)."""
    with zipfile.ZipFile(io.BytesIO(graph)) as zf:
        schema = json.loads(zf.read("schema.json"))
    names, stack = set(), [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("__module__"), str) and isinstance(node.get("__class__"), str):
                names.add(f"{node['__module__']}.{node['__class__']}")
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def decode(encoded: Encoded, trust: Trust, where: str = "the model file") -> Any:
    """The object graph of ``encoded``; refuses untrusted types before building anything.

    skops checks every type before it builds anything; it is offered the types the graph
    names that ``trust`` covers. When it refuses some, ``get_untrusted_types`` names them.
    """
    missing = sorted({e["type"] for e in encoded.index} - set(trust.serializers))
    if missing:
        raise UntrustedTypeError(f"{where} holds {', '.join(missing)} stored by a plugin's serializer, and no "
                                 "installed plugin provides it; install the plugin the model was fitted with.")
    skops_io = _skops()
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        offered = sorted(n for n in _named(encoded.graph) if not trust.refused([n]))
        graph = skops_io.loads(encoded.graph, trusted=offered)
    except UntrustedTypesFoundException:
        trust.check(skops_io.get_untrusted_types(data=encoded.graph), where)
        raise UntrustedTypeError(f"{where} holds types that are not trusted, so it is not loaded.") from None
    except Exception as exc:
        raise ModelFileError(f"{where} is damaged: its fitted models cannot be read ({type(exc).__name__}: "
                             f"{exc}).") from None
    objects = {}
    for entry in encoded.index:
        serializer = trust.serializers[entry["type"]]
        try:
            files = {f: encoded.natives[f"{NATIVE}/{entry['key']}/{f}"] for f in entry["files"]}
            objects[entry["key"]] = serializer.load(entry["type"], files)
        except Exception as exc:
            raise ModelFileError(f"{where}: the {entry['type']} stored by plugin {serializer.plugin!r} cannot be "
                                 f"loaded ({type(exc).__name__}: {exc}).") from None
    try:
        return _walk(graph, lambda x: objects[x.key] if isinstance(x, Stored) else None, {})
    except KeyError as exc:
        raise ModelFileError(f"{where} is damaged: stored object {exc} is missing.") from None
