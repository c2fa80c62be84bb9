"""Successive-halving rungs on a scale shared by every model family.

Every model gets the same number of rungs; rung ``k`` of ``n`` trains at
``high * eta**-(n - 1 - k)`` of the model's own resource (trees, iterations, epochs or
the fraction of training rows), never below the model's ``low``, and the last rung is
the full resource. Rung ``k`` is reported to Optuna at step ``eta**k``, so that the
pruner's rungs (``min_resource=1``) line up across families on one step scale. Which
trials compete at a rung is the pruner's choice (``pruner.py``: the same family).

**Large data** (more than ``ROW_RUNGS_ABOVE`` training rows in a fold): rows are the
resource of every family. Rung ``k`` trains on ``eta**-(n - 1 - k)`` of the fold's training
rows (a seeded, nested subsample), and there are as many rungs as it takes for the lowest
to hold about ``MIN_RUNG_ROWS`` rows (at least ``DEFAULT_RUNGS``, at most ``MAX_RUNGS``), so
that many configurations are screened on small samples and only the promoted ones train on
all the rows. The model's own resource combines with the rows as follows
(:func:`large_rung_resources`): a model that stops early on the validation rows
(``ModelSpec.early_stop``: LightGBM, XGBoost, HistGradientBoosting) and one whose
iterations end at convergence (``max_iter`` without early stopping: linear models, the
Gaussian mixture) train their full resource on every rung, so that a rung's cost grows
with its rows only and the next rung is priced from it; the others' resource (a forest's
trees, the MLP's epochs, CatBoost's rounds) still grows with the rungs, so that their first
rung stays a cheap probe; a sample-fraction fidelity is replaced by the rows. The lower
rungs are scored on ``SCORE_ROWS`` of the validation rows (:func:`scoring_rows`): predicting
all 160,000 of a million-row table's holdout took longer than training on 4% of its rows
(HistGradientBoosting 6.4 s, XGBoost 4.8 s), for a ranking that a sample makes as well;
the last rung, the trials' score, predicts them all. Small data is unaffected.

**Longer budgets** (:func:`for_budget`): a fidelity with ``grow_to`` (CatBoost's trees)
keeps its ``high`` up to ``GROW_FROM`` seconds of budget and grows in proportion to the
budget above it, up to ``grow_to``, on tables of ``GROW_ROWS`` to ``ROW_RUNGS_ABOVE`` rows;
its rungs scale with it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from automl.spec import Fidelity, ModelSpec

#: Below this many training rows, halving is off: low rungs say nothing on so few rows.
MIN_ROWS_FOR_HALVING = 500
DEFAULT_RUNGS = 3
#: Above this many training rows (in a fold), the lower rungs train on a subsample of the rows.
ROW_RUNGS_ABOVE = 100_000
#: The lowest rung of the large-data path holds about this many rows (not fewer).
MIN_RUNG_ROWS = 20_000
MAX_RUNGS = 5
#: On row rungs, the lower rungs are scored on this many of a fold's validation rows (if more).
SCORE_ROWS = 40_000
#: On row rungs, a trial stops at a lower rung when its score there is this far (relative to
#: the leader's) below the best any model family reached at that rung: see ``RungLeaders``.
FAMILY_GAP = 0.02
#: A fidelity's ``high`` is sized for budgets up to this many seconds; ``grow_to`` lets it grow
#: in proportion above (twice at 300 s). CatBoost's 2,000 trees (``plugins/cat_boosting.py``)
#: were measured at 60 s; at 300 s its search on california_housing (15,480 rows) moved to
#: rates of 0.15-0.29 whose trials all kept the 2,000-tree rung, and 4,000 trees lifted the
#: default's holdout RMSE from 46,880 to 46,411 (benchmarks/README.md).
GROW_FROM = 150.0
#: ... on tables of at least this many rows. On small ones a trial's climb stops before the cap
#: anyway, and a grown cap only coarsens the rungs (444 trees at the first instead of 222): on
#: vehicle (634 rows) at 300 s, log loss 0.2987 with 4,000 trees against 0.2915 and 0.2947 with
#: 2,000 (one run, two runs: within run-to-run spread, so a rule of caution). Nor above
#: ``ROW_RUNGS_ABOVE`` rows, where the rows are the rungs (not measured there).
GROW_ROWS = 10_000


def n_rungs(n_rows: int, halving: bool, rungs: int = DEFAULT_RUNGS) -> int:
    """How many rungs each trial climbs (1 = straight to the full resource)."""
    if not halving or n_rows < MIN_ROWS_FOR_HALVING:
        return 1
    return rungs


def scoring_rows(n_valid: int, seed: int) -> np.ndarray | None:
    """Positions of the validation rows a lower row rung is scored on (None: all of
    them): a seeded sample of ``SCORE_ROWS``, the same for every trial, sorted."""
    if n_valid <= 2 * SCORE_ROWS:
        return None
    return np.sort(np.random.default_rng(seed).choice(n_valid, SCORE_ROWS, replace=False))


def row_fractions(train_rows: int, halving: bool, eta: int, rungs: int = DEFAULT_RUNGS) -> list[float] | None:
    """The fraction of a fold's training rows each rung trains on for large data (the
    last is 1.0), or None (small data, or halving off: every rung trains on all the rows).
    The list's length is the number of rungs."""
    if not halving or train_rows <= ROW_RUNGS_ABOVE:
        return None
    n = rungs
    while n < MAX_RUNGS and train_rows * float(eta) ** -n >= MIN_RUNG_ROWS:
        n += 1
    return [float(eta) ** -(n - 1 - k) for k in range(n)]


class RungLeaders:
    """Successive halving across model families on the row rungs (large data).

    On row rungs, the models at a lower rung are complete models of a subsample (the
    boosters stop early; only forests, the MLP and CatBoost hold fewer trees, epochs or
    rounds), so rung scores compare across families there, which halving otherwise never
    does (``pruner.py``). A trial goes on from a lower rung only when its score there is
    among the best ``1/eta`` of every score recorded at that rung (the best one always
    goes on: asynchronous halving) and not more than ``FAMILY_GAP`` (relative) behind the
    leader; each family's baseline included. On a million rows one top rung costs tens of
    seconds: only the families that lead on the samples pay for one, and the time goes
    to screening more configurations on the small rungs. The scores are this process's
    (workers sharing a study each halve across families on what they ran).

    A trial does not train a rung at which it would be ranked out anyway, judged by the
    scores one rung below of the trials that trained it (``outranked``): on a million rows
    the second XGBoost configuration to reach rung 1 trained 30 s there, to be ranked 2 of 2
    behind the LightGBM that had beaten it at rung 0."""

    def __init__(self, eta: int = 3) -> None:
        self.eta = eta
        self.scores: dict[int, list[float]] = {}
        self.climbed: dict[int, list[float]] = {}  # rung: the scores there of the trials that went on

    @property
    def best(self) -> dict[int, float]:
        return {k: max(v) for k, v in self.scores.items()}

    def behind(self, rung: int, score: float) -> str:
        """Record ``score`` at ``rung``; why the trial stops there, or "" when it goes on."""
        if not np.isfinite(score):
            return ""
        seen = self.scores.setdefault(rung, [])
        seen.append(score)
        leader = max(seen)
        if leader - score > FAMILY_GAP * max(abs(leader), 1e-12):
            return f"{score:.5g} is more than {FAMILY_GAP:.0%} behind the best model at this rung ({leader:.5g})"
        rank, keep = sum(s > score for s in seen) + 1, max(1, len(seen) // self.eta)
        if rank > keep:
            return f"ranked {rank} of the {len(seen)} trials of every model at this rung, where the best {keep} go on"
        return ""

    def outranked(self, rung: int, score: float) -> str:
        """Why a trial with ``score`` at ``rung`` would be ranked out at the next rung
        (ranked there as here among the trials that went on), or "" when it climbs (recorded)."""
        if not np.isfinite(score):
            return ""
        rank = sum(s > score for s in self.climbed.get(rung, [])) + 1
        keep = max(1, (len(self.scores.get(rung + 1, [])) + 1) // self.eta)
        if rank > keep:
            return (f"at the next rung it would rank {rank}, behind trials that beat it at this one, "
                    f"where the best {keep} go on")
        self.climbed.setdefault(rung, []).append(score)
        return ""


def large_rung_resources(fidelity: Fidelity | None, rungs: int, eta: int,
                         stops_early: bool = False) -> list[float | None]:
    """The model's own resource at each rung of the large-data path (the rows being the
    rungs' first resource): the full resource on every rung for a model that ``stops_early``
    on the validation rows and for iterations to convergence (``max_iter`` without early
    stopping); a sample fraction not at all (None: the rows decide); any other (trees,
    epochs, rounds that do not stop early) as :func:`rung_resources`."""
    if fidelity is None or fidelity.is_sample_fraction:
        return [None] * rungs
    if stops_early or (fidelity.kind == "max_iter" and not fidelity.early_stopping):
        return [fidelity.high] * rungs
    return rung_resources(fidelity, rungs, eta)


def rung_resources(fidelity: Fidelity | None, rungs: int, eta: int) -> list[float | None]:
    """The resource at each rung: non-decreasing, within ``[low, high]``, ending at ``high``.

    Models without a fidelity train once at full resource (``[None] * rungs``: every
    rung reuses that score). Integer kinds (trees, iterations, epochs) are rounded.
    """
    if fidelity is None:
        return [None] * rungs
    out: list[float] = []
    for k in range(rungs):
        value = max(fidelity.low, fidelity.high * float(eta) ** -(rungs - 1 - k))
        if not fidelity.is_sample_fraction:
            value = float(round(value))
        out.append(min(value, fidelity.high))
    out[-1] = fidelity.high
    return out


def for_budget(spec: ModelSpec, time_budget: float | None, n_rows: int) -> ModelSpec:
    """``spec`` with its fidelity's full resource grown for ``time_budget`` (seconds; None,
    no time limit: not grown, since nothing bounds the cost) on ``n_rows`` training rows
    (from ``GROW_ROWS`` to ``ROW_RUNGS_ABOVE``), or ``spec`` itself."""
    fid = spec.fidelity
    if (fid is None or fid.grow_to is None or time_budget is None or time_budget <= GROW_FROM
            or not GROW_ROWS <= n_rows <= ROW_RUNGS_ABOVE):
        return spec
    high = float(round(min(fid.grow_to, fid.high * time_budget / GROW_FROM)))
    return replace(spec, fidelity=replace(fid, high=high, grow_to=None)) if high > fid.high else spec


def rung_step(k: int, eta: int) -> int:
    """The Optuna step at which rung ``k`` is reported."""
    return int(eta**k)


def describe(fidelity: Fidelity | None, resource: float | None, rows: float | None = None) -> str:
    """``"n_estimators=33"``, ``"rows=33%"`` or ``"full"`` for the leaderboard; with a
    fraction of the ``rows`` below 1 (the large-data path), both: ``"rows=4%, n_estimators=500"``."""
    if rows is not None and rows < 1.0:
        own = "" if fidelity is None or resource is None or fidelity.is_sample_fraction else describe(fidelity, resource)
        return ", ".join(filter(None, [f"rows={rows:.0%}", own]))
    if fidelity is None or resource is None:
        return "full"
    if fidelity.is_sample_fraction:
        return f"rows={resource:.0%}"
    return f"{fidelity.param}={int(resource)}"
