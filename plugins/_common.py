"""Small helpers shared by the built-in model plugins (not a plugin itself)."""

from __future__ import annotations

from typing import Any, Mapping

from automl import Fidelity


def with_resource(params: Mapping[str, Any], fidelity: Fidelity) -> dict[str, Any]:
    """``params`` with the fidelity parameter as an int; its ``high`` when the core did not set it."""
    out = dict(params)
    out[fidelity.param] = int(round(out.get(fidelity.param, fidelity.high)))
    return out


def bounded(value: float, low: int, high: int) -> int:
    """``value`` as an int clipped to ``[low, high]`` (for data-dependent search bounds)."""
    return int(min(max(value, low), high))
