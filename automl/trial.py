"""What a plugin sees of a search trial: the trial its search space draws from, and the
:class:`TrialInfo` its observer receives, with the one vocabulary of trial statuses.

A spec's ``search_space(trial, profile)`` gets a :class:`NamespacedTrial`: it suggests
``"alpha"``, the study records ``"ridge__alpha"``. ``automl_trial_finished(trial)`` gets
a :class:`TrialInfo`. The leaderboard, the reports and the observers all name a trial's
status with the words of :data:`STATUSES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

SEP = "__"
#: The study parameter that holds the trial's model name.
MODEL_PARAM = "model"

# ----------------------------------------------------------------- statuses --
#: Scored at full fidelity, or kept at a lower rung (an early-stopping model's best rung,
#: or the last rung before the budget ran out).
OK = "ok"
#: Stopped by successive halving at a lower rung.
PRUNED = "pruned"
#: The time budget ran out before it finished.
STOPPED = "stopped"
#: Its fit raised.
FAILED = "failed"
#: Not trained: its model failed 3 times in a row, or the same configuration already ran.
SKIPPED = "skipped"
#: Still running, or queued and never started (only in a study being searched).
RUNNING, WAITING = "running", "waiting"
STATUSES = (OK, PRUNED, STOPPED, FAILED, SKIPPED, RUNNING, WAITING)


# ------------------------------------------------------------ search space --
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
        prefix = f"{self._ns}{SEP}"
        return {k[len(prefix):]: v for k, v in self._trial.params.items() if k.startswith(prefix)}


# ---------------------------------------------------------------- observing --
@dataclass(frozen=True)
class TrialInfo:
    """One finished trial, as ``automl_trial_finished(trial)`` receives it.

    Attributes
    ----------
    number : the Optuna trial number (0, 1, ... in the study).
    model : the model's name (``ModelSpec.name``), or None if the trial failed before choosing.
    plugin : the plugin that registered the model ("" when unknown).
    params : the model's parameters as tried, JSON types (without the fidelity parameter,
        except for a model kept at a lower rung: the rounds, trees, ... it keeps).
    state : the trial's status, one of :data:`STATUSES` but "running"/"waiting": "ok",
        "pruned", "stopped", "failed" or "skipped" (see the constants above).
    score : the cross-validated score at full fidelity, greater is better (losses are
        negated, as in scikit-learn); None unless ``state == "ok"``.
    metric : the metric's name (``AutoML.metric_``).
    rung : the last successive-halving rung reached (0 = lowest), or None.
    resource : the resource at that rung: ``"n_estimators=33"``, ``"rows=33%"``, ``"full"``; or None.
    duration : seconds the trial took.
    error : why it failed or was stopped ("" otherwise).
    default : it was one of the model's default configurations, not a sampled one.
    study_name : the Optuna study's name.
    """

    number: int
    model: str | None
    plugin: str
    params: Mapping[str, Any]
    state: str
    score: float | None
    metric: str
    rung: int | None = None
    resource: str | None = None
    duration: float = 0.0
    error: str = ""
    default: bool = False
    study_name: str = ""
