"""Model specifications: what a plugin hands to the search.

A :class:`ModelSpec` is plain data plus two callables. It is validated when it is
registered, so a plugin author learns at once what is missing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Mapping

from automl.exceptions import PluginError
from automl.data.task import Task

if TYPE_CHECKING:  # pragma: no cover
    from automl.data.profile import DataProfile

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
FIDELITY_KINDS = ("n_estimators", "max_iter", "epochs", "sample_fraction")


@dataclass(frozen=True)
class Fidelity:
    """The resource successive halving scales for one model.

    ``param`` names the estimator parameter that sets the resource (``n_estimators``,
    ``max_iter``, ``epochs`` ...); ``None`` means the resource is the fraction of the
    training rows, from ``low`` to ``high`` (at most 1.0). ``param`` is never searched.

    ``early_stopping``: fewer steps can generalise better (boosting rounds, epochs).
    A trial that reaches the full resource then keeps the rung that scored best, and
    the model is refit at that resource (``param`` is set in its parameters).

    ``grow_to``: with a longer time budget the full resource may grow from ``high`` up to
    this (``automl.search.fidelity.for_budget``): for a cap that a short budget needs but
    that stops low learning rates short when there is time for more steps.
    """

    kind: str
    low: float
    high: float
    param: str | None = None
    early_stopping: bool = False
    grow_to: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FIDELITY_KINDS:
            raise PluginError(f"Fidelity kind {self.kind!r} is not one of {FIDELITY_KINDS}.")
        if not 0 < self.low < self.high:
            raise PluginError(f"Fidelity needs 0 < low < high, got low={self.low}, high={self.high}.")
        if self.kind == "sample_fraction":
            if self.param is not None or self.high > 1.0 or self.early_stopping:
                raise PluginError("A sample_fraction fidelity has param=None, high <= 1.0 and no early_stopping.")
        elif not self.param:
            raise PluginError(f"A {self.kind!r} fidelity must name the estimator parameter (param=...).")
        if self.grow_to is not None and (self.param is None or not self.grow_to > self.high):
            raise PluginError(f"Fidelity grow_to={self.grow_to} needs a fidelity that names its parameter and "
                              f"grow_to > high ({self.high}).")

    @property
    def is_sample_fraction(self) -> bool:
        return self.param is None


@dataclass(frozen=True)
class BuildContext:
    """What a spec's ``build`` may use besides the parameters."""

    task: Task
    random_state: int = 0
    n_jobs: int = 1
    device: str = "auto"  # "auto": CUDA when the model can use it and it is there
    n_classes: int = 0
    #: Seconds this fit may take before the search's time runs out (None: no limit, as in
    #: the final refit). Models that train in a loop (epochs, boosting rounds) may stop there
    #: instead of overrunning; a fit with an early-stopping fidelity that ends past this limit
    #: does not count as a finished rung (the trial keeps its best earlier rung, if any).
    #: Any fidelity that is a parameter keeps its last finished rung when the budget stops
    #: the climb; a sample fraction does not (its refit uses all the rows).
    time_limit: float | None = None
    #: Rows the model is about to be fitted on (None: unknown). A model whose size grows
    #: with the rows (a forest's trees) may bound its memory with it.
    n_rows: int | None = None


SearchSpace = Callable[[Any, "DataProfile"], Mapping[str, Any]]
Builder = Callable[[Mapping[str, Any], BuildContext], Any]
Resumer = Callable[[Any, Any, Any, int, BuildContext], Any]
EarlyStopper = Callable[[Any, Any, Any, Any, Any, BuildContext], Any]


@dataclass(frozen=True)
class ModelSpec:
    """Everything the core needs to search, preprocess for and build one model.

    Parameters
    ----------
    name : unique key, lower_snake_case; also the namespace of its Optuna parameters.
    tasks : the tasks the model supports.
    search_space : ``(trial, profile) -> dict`` written define-by-run against an Optuna
        trial (already namespaced: suggest ``"alpha"``, the study records
        ``"<name>__alpha"``). Bounds may depend on ``profile`` (rows, columns).
        It must not suggest the fidelity parameter.
    build : ``(params, ctx) -> estimator``: an unfitted scikit-learn estimator.
    default_params : configurations known to be good, tried before the search.
    portfolio : ``(profile) -> configurations``: the defaults to try first on data like
        ``profile``, in order (a data-dependent portfolio, e.g. one list for small tables and
        another for large ones); None: ``default_params`` on all data. See :meth:`defaults`.
    fidelity : the resource for successive halving.
    needs_scaling, handles_missing, handles_categorical : drive the preprocessing.
    gpu : the model can train on CUDA (``ctx.device`` says where).
    requires : import names; the spec is skipped, with the reason logged, when one is missing.
    max_rows : above this many training rows the model is skipped (too costly), or None.
    warm_start : the model can continue training from a lower rung: through scikit-learn's
        ``warm_start`` parameter, or through ``resume``.
    resume : ``(fitted, X, y, resource, ctx) -> fitted``: train a fitted model on to
        ``resource`` (in the fidelity's unit) on the same rows, for estimators that continue
        another way (LightGBM's ``init_model``, XGBoost's ``xgb_model``) or that need ``ctx``
        again (a new time limit). None: ``warm_start=True`` and a refit.
    early_stop : ``(estimator, X, y, X_valid, y_valid, ctx) -> fitted``: fit ``estimator``
        (built at the full resource) on ``X``/``y``, stopping early on the validation rows,
        and return it with its fidelity parameter (``get_params()``) set to the rounds it
        kept. Used on the large-data path (``automl.search.fidelity``), where each rung
        trains the full resource on a subsample of the rows; None: a plain fit there. It
        needs an early-stopping fidelity that names its parameter.
    cost : rough training cost relative to LightGBM's defaults (1.0); cheaper models'
        defaults are tried first.
    cost_per_class : the share of ``cost`` that each class beyond two adds, for a model that
        trains one tree per class each round (the boosters). Large tables only order the
        defaults by it (``automl.search.defaults.queue_cost``).
    leads_many_classes : on a large table of more than two classes where no booster leads the
        queue (their defaults, grown by ``cost_per_class``, cost too much), the cheapest model
        with this flag does (``automl.search.defaults.enqueue_defaults``): a model whose cost
        does not grow with the classes and that is worth its refit there (the MLP: one network
        for all classes).
    target_encoding : the preprocessing adds, beside the model's own categorical handling,
        the out-of-fold target encodings of the categorical columns (and of their pairs when
        they are few), fitted inside each validation fold: the boosters' interaction features.
    bagged : on small tables whose folds are repeated (``cv_repeats``), the model's final
        fit (alone or as an ensemble member) is its trial's validation-fold models averaged
        instead of one refit on all rows, where the search kept them: for models whose
        single fit varies much with its seed (a network). Measured on the trees and boosters
        too, where one refit on all rows did better (car: log loss 0.022 bagged, 0.0004 refit).
    stops_in_time : the fit stops at ``BuildContext.time_limit`` with the best of what it
        trained (the epoch with the least loss on an internal validation split), a sound
        model however early: a final refit on all rows that would overrun the budget may be
        cut to the time left (``Budget.cuts``) instead of serving the trial's one model of a
        holdout's training rows. Needs a fidelity that names its parameter (the epochs).
    """

    name: str
    tasks: frozenset[Task]
    search_space: SearchSpace
    build: Builder
    default_params: tuple[Mapping[str, Any], ...] = ({},)
    fidelity: Fidelity | None = None
    needs_scaling: bool = False
    handles_missing: bool = False
    handles_categorical: bool = False
    gpu: bool = False
    requires: tuple[str, ...] = ()
    max_rows: int | None = None
    warm_start: bool = False
    resume: Resumer | None = None
    early_stop: EarlyStopper | None = None
    cost: float = 1.0
    description: str = ""
    # last, so that a spec built with positional arguments before it was added still builds
    portfolio: Callable[["DataProfile"], Any] | None = None
    target_encoding: bool = False
    bagged: bool = False
    cost_per_class: float = 0.0
    leads_many_classes: bool = False
    stops_in_time: bool = False
    plugin: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        validate_spec(self)

    def supports(self, task: Task) -> bool:
        return Task(task) in self.tasks

    def defaults(self, profile: "DataProfile") -> tuple[Mapping[str, Any], ...]:
        """The default configurations tried before the search on data like ``profile``:
        ``portfolio(profile)``, or ``default_params`` without one. Raises PluginError when
        the portfolio is unusable (the search then uses ``default_params``)."""
        if self.portfolio is None:
            return self.default_params
        try:
            chosen = tuple(self.portfolio(profile))
        except Exception as exc:
            raise PluginError(f"ModelSpec {self.name!r}: portfolio raised {type(exc).__name__}: {exc}") from exc
        _check_defaults(f"ModelSpec {self.name!r}: portfolio", chosen, self.fidelity)
        return chosen


def check_name_and_tasks(who: str, name: Any, tasks: Any) -> frozenset[Task]:
    """Validate a spec's (model's or metric's) ``name`` and ``tasks``; return the tasks as Task values."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise PluginError(f"{who}: name must be lower_snake_case (letters, digits, '_'), got {name!r}.")
    try:
        tasks = frozenset(Task(t) for t in tasks)
    except (TypeError, ValueError):
        raise PluginError(f"{who}: tasks must be Task values {[t.value for t in Task]}, got {tasks!r}.") from None
    if not tasks:
        raise PluginError(f"{who}: tasks is empty; declare at least one of {[t.value for t in Task]}.")
    return tasks


def _check_defaults(who: str, configurations: Any, fidelity: Fidelity | None) -> None:
    """Default configurations are a non-empty tuple of dicts that leave the fidelity to the search."""
    if not configurations or not all(isinstance(p, Mapping) for p in configurations):
        raise PluginError(f"{who} must be a non-empty tuple of dicts.")
    if fidelity is not None and fidelity.param:
        for params in configurations:
            if fidelity.param in params:
                raise PluginError(f"{who} sets the fidelity parameter {fidelity.param!r}; "
                                  "the search sets it, remove it from the defaults.")


def validate_spec(spec: ModelSpec) -> None:
    """Fail fast, naming the spec and the field, when a specification is unusable."""
    who = f"ModelSpec {spec.name!r}"
    tasks = check_name_and_tasks(who, spec.name, spec.tasks)
    if "__" in spec.name:
        raise PluginError(f"{who}: name must not contain '__' (it separates the parameter namespace).")
    object.__setattr__(spec, "tasks", tasks)
    for attr in ("search_space", "build"):
        if not callable(getattr(spec, attr)):
            raise PluginError(f"{who}: {attr} must be callable.")
    if isinstance(spec.default_params, Mapping):
        object.__setattr__(spec, "default_params", (spec.default_params,))
    if spec.fidelity is not None and not isinstance(spec.fidelity, Fidelity):
        raise PluginError(f"{who}: fidelity must be a Fidelity or None.")
    _check_defaults(f"{who}: default_params", spec.default_params, spec.fidelity)
    if spec.portfolio is not None and not callable(spec.portfolio):
        raise PluginError(f"{who}: portfolio must be callable (profile -> configurations) or None.")
    if isinstance(spec.requires, str):
        object.__setattr__(spec, "requires", (spec.requires,))
    if spec.resume is not None and not (
        callable(spec.resume) and spec.warm_start and spec.fidelity is not None and spec.fidelity.param
    ):
        raise PluginError(f"{who}: resume must be callable, with warm_start=True and a fidelity that names "
                          "its estimator parameter (the resource it trains on to).")
    if not isinstance(spec.cost_per_class, (int, float)) or not spec.cost_per_class >= 0:
        raise PluginError(f"{who}: cost_per_class must be a number >= 0, got {spec.cost_per_class!r}.")
    if not isinstance(spec.leads_many_classes, bool):
        raise PluginError(f"{who}: leads_many_classes must be True or False, got {spec.leads_many_classes!r}.")
    if not isinstance(spec.stops_in_time, bool) or spec.stops_in_time and not (
            spec.fidelity is not None and spec.fidelity.param):
        raise PluginError(f"{who}: stops_in_time must be True or False, and True needs a fidelity that names its "
                          f"estimator parameter (the epochs it trains), got {spec.stops_in_time!r}.")
    if spec.early_stop is not None and not (
        callable(spec.early_stop) and spec.fidelity is not None and spec.fidelity.param and spec.fidelity.early_stopping
    ):
        raise PluginError(f"{who}: early_stop must be callable, with a fidelity that names its estimator parameter "
                          "and has early_stopping=True (the rounds it stops at).")
