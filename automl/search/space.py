"""Parameter namespacing: a spec suggests ``"alpha"``, the study records ``"ridge__alpha"``."""

from __future__ import annotations

from typing import Any

SEP = "__"
MODEL_PARAM = "model"


class NamespacedTrial:
    """The part of an Optuna trial a model's search space may use, under a prefix.

    Optuna refuses one name with two kinds of distribution, and TPE would mix up
    unrelated models that share a name; the prefix avoids both.
    """

    def __init__(self, trial: Any, namespace: str):
        self._trial = trial
        self._ns = namespace

    def _key(self, name: str) -> str:
        return f"{self._ns}{SEP}{name}"

    def suggest_float(self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False) -> float:
        return self._trial.suggest_float(self._key(name), low, high, step=step, log=log)

    def suggest_int(self, name: str, low: int, high: int, *, step: int = 1, log: bool = False) -> int:
        return self._trial.suggest_int(self._key(name), low, high, step=step, log=log)

    def suggest_categorical(self, name: str, choices):
        return self._trial.suggest_categorical(self._key(name), choices)

    @property
    def number(self) -> int:
        return self._trial.number

    @property
    def params(self) -> dict[str, Any]:
        return strip_namespace(self._trial.params, self._ns)


def strip_namespace(params: dict[str, Any], namespace: str) -> dict[str, Any]:
    prefix = f"{namespace}{SEP}"
    return {k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}
