"""The configurations a search tries first: each model's defaults (its portfolio for the data
in hand, ``ModelSpec.defaults``), queued in the study before the sampler draws anything."""

from __future__ import annotations

import logging
from typing import Sequence

import optuna

from automl.exceptions import PluginError
from automl.search.record import DEFAULT_ATTR
from automl.spec import ModelSpec
from automl.trial import MODEL_PARAM

log = logging.getLogger(__name__)


def defaults_for(spec: ModelSpec, profile, warn: bool = False) -> tuple:
    """``spec``'s default configurations on data like ``profile`` (its portfolio); its
    ``default_params`` when the portfolio is unusable (``warn``: say so), for a plugin's
    fault never stops the fit."""
    try:
        return spec.defaults(profile)
    except PluginError as exc:
        if warn:
            log.warning("%s; its default_params are used instead.", exc)
        return spec.default_params


#: On tables of at least this many training rows the boosters' whole portfolios come first
#: (``enqueue_defaults``'s ``stopping_first``).
STOPPING_FIRST_ROWS = 10_000
#: There, they come first only while a default of theirs costs at most this (``queue_cost``):
#: HistGradientBoosting's on two classes or a regression.
LEAD_COST = 2.0


def queue_cost(spec: ModelSpec, n_classes: int, large: bool) -> float:
    """``spec.cost`` on a table of ``n_classes`` classes (0: regression); on ``large`` tables
    grown by ``spec.cost_per_class`` for each class beyond two: a booster trains one tree per
    class each round (LightGBM's first default on letter's 12,000 rows: 0.74 s on 2 classes,
    1.9 s on 4, 10.9 s on 26; on 26 classes a climb of it took 41 s of a 60 s budget, and the
    MLP, the best model there, was never reached). Not on smaller tables, where every default
    is cheap: ordered so, the MLP and SVM came before the boosters on 7 classes, which did worse
    (segment log loss 0.043 -> 0.094, wine_quality_white 0.724 -> 0.749)."""
    if not large or n_classes <= 2:
        return spec.cost
    return spec.cost * (1 + spec.cost_per_class * (n_classes - 2))


def enqueue_defaults(study: optuna.Study, specs: Sequence[ModelSpec], *, profile,
                     stopping_first: bool = False) -> int:
    """Queue every spec's default configurations (its portfolio on data like ``profile``:
    ``ModelSpec.defaults``), cheapest models first (``queue_cost`` on this table), first
    defaults of all models before second ones. Configurations already in the study are skipped.
    ``stopping_first`` (large tables): the models that stop early on the validation rows
    (``early_stop``: the boosters) and cost at most ``LEAD_COST`` here (none with many
    classes) try their whole portfolios before any other model's first default. On large
    tables they lead, a default of theirs costs a fraction of a fully grown forest's
    (nycflights, 24,551 rows: LightGBM 3 s, extra trees 16 s; the search stopped before
    LightGBM's second default, the best on that table), and their refits fit the reserve the
    ensemble keeps; they also set the score each rung's other families are compared with
    (``fidelity.RungLeaders``). When none leads on more than two classes, the cheapest model
    that ``leads_many_classes`` (the MLP) does: on letter (15,000 rows, 26 classes) the MLP
    came after six cheap defaults and became the best at 36 s of 60, when its refit on all
    rows (23 s) no longer fitted the time left; its model of the holdout's training rows
    scored log loss 0.074 on the test rows, the refit 0.058."""
    done = {
        (t.params.get(MODEL_PARAM), t.user_attrs.get(DEFAULT_ATTR))
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get(DEFAULT_ATTR) is not None
    }
    cost = {s.name: queue_cost(s, profile.n_classes, stopping_first) for s in specs}
    order = sorted(specs, key=lambda s: cost[s.name])
    first = {s.name for s in order
             if stopping_first and s.early_stop is not None and cost[s.name] <= LEAD_COST}
    if stopping_first and not first and profile.n_classes > 2:
        leaders = [s.name for s in order if s.leads_many_classes]
        first = set(leaders[:1])
    counts = {s.name: len(defaults_for(s, profile, warn=True)) for s in specs}
    queued = 0
    for group in ([s for s in order if s.name in first], [s for s in order if s.name not in first]):
        for i in range(max((counts[s.name] for s in group), default=0)):
            for spec in group:
                if i < counts[spec.name] and (spec.name, i) not in done:
                    study.enqueue_trial({MODEL_PARAM: spec.name}, user_attrs={DEFAULT_ATTR: i})
                    queued += 1
    return queued
