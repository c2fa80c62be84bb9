"""The final model: an ensemble of the best full-fidelity trials, or the single best.

The candidates are the trials whose out-of-fold (OOF) predictions the search kept: all
were scored on the same folds, so their predictions line up row by row. Each model
family's best configuration is taken before any family's second (at most ``PER_FAMILY``
per family), so that the pool is diverse, and at most ``MAX_CANDIDATES`` in all.

Two combiners are fitted on the OOF predictions of the validation rows:

* **caruana**: greedy ensemble selection with replacement (Caruana et al., 2004),
  ``ITERATIONS`` steps from the best model, scored on at most ``SELECTION_ROWS`` rows;
  the weights are how often each model was picked, so classification probabilities
  stay a convex blend (rows sum to 1);
* **stacking**: a regularised meta-learner over the models greedy selection picked:
  logistic regression (C=1) on their standardised class log-probabilities (binary:
  logits), or ridge regression (alpha by generalised CV) on their standardised predictions.

Each is scored honestly with an inner ``INNER_FOLDS``-fold cross-validation over the OOF
rows (the combiner is fitted on the other inner folds); the better one is kept only when
it gains over choosing the single best model, done the same nested way (on each inner
test fold, the candidate best on the other inner folds): its score minus that on each
inner test fold, averaged, must be above ``GAIN_SE`` (0) standard errors of that mean
(``std(gains, ddof=1) / sqrt(folds)``, reported), and its score on all OOF rows must beat
that by more than ``TOLERANCE`` (relative). Otherwise the final model is the single
best pipeline; the notes give the gain and its standard error either way. Members other
than the best (refit by the core) are refit on all rows while the budget allows; a member
whose refit would not fit in the time left is its fold models from the search averaged
(``FoldAverage``), when the search kept them (each family's best trial's, if small: see
``search/kept_folds.py``), else it is left out before choosing; and when a member's refit
fails (or time runs short), the combiner is chosen again
without it; when no time is left to choose again, the last choice without it (its caruana
weights renormalised, or its stacker refit on the rest) is kept if it still beats the best
model on all OOF rows. With a latency limit (``Latency``), a candidate that would be its
fold models averaged and that, with the best model alone, predicts one row slower than the
limit is refit before choosing when that fits, else left out; after the choice, a best model
that is fold models averaged keeps fewer of them (down to half) when that alone brings one row
within the limit, else the slowest members are left out until one row predicts within it.
Everything is seeded, so for a given seed the ensemble is
deterministic when neither the clock nor measured latencies decide: ``time_budget=None``
with ``n_trials``, and ``infer_limit=None`` (or members far from the limit).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from automl.final.calibration import with_floor
from automl.final.combiners import TOLERANCE, Stacker, WeightedAverage, select
from automl.final.fast_path import FAST_ROWS, FastPath
from automl.final.fold_models import FoldAverage
from automl.metrics import Metric
from automl.preprocessing.pipeline import predict_scores
from automl.search.budget import Budget
from automl.search.record import TrialRecord
from automl.search.store import PER_FAMILY
from automl.data.task import Task

if TYPE_CHECKING:  # pragma: no cover
    from automl.final.latency import Latency

log = logging.getLogger(__name__)

#: Candidates in all: MAX_CANDIDATES, LONG_CANDIDATES for a budget of LONG_BUDGET seconds or
#: more (or none). Measured on the same searches, assembled twice (10 shared tables at 60 s,
#: seeds 0 and 1, benchmarks/README.md): 12 never better by more than 1e-4, worse on 5 of 20
#: (vehicle log loss +0.026, credit_g AUC -0.020, kc1 -0.007, caravan -0.004 and -0.002): at a
#: short budget the extra candidates are weak families' first configurations that add
#: selection noise. A long search finishes trials of more families, and its pool must still
#: hold the weaker ones' best: vehicle at 300 s, seed 1, 12 families, the Gaussian-mixture
#: classifier (the stacker's largest member) the ninth family's best: log loss 0.340 with 8,
#: 0.279 with 12 (0.286 and 0.278 on seeds 0 and 1 in the 300 s benchmark).
MAX_CANDIDATES = 8
LONG_CANDIDATES = 12
LONG_BUDGET = 300
#: Once a best model exists, the search also keeps time for the ensemble: about
#: ``RESERVE_REFITS`` refits of the best model plus ``SELECTION_SECONDS`` or
#: ``SELECTION_FRACTION`` of the budget (the more), at most ``RESERVE_FRACTION`` of it.
#: (Selecting, timing one row and choosing again without a member that is too slow took
#: 2.4-3.7 s on vehicle at 60 s, 8.7 s on california_housing: with 1 s kept, vehicle's
#: second choice found no time left and its final model was the single best. Selecting
#: alone now takes 0.1-0.3 s there (``fast_metrics``): what the reserve keeps beyond that
#: goes to the members' refits.)
RESERVE_REFITS = 4
SELECTION_SECONDS = 1.0
SELECTION_FRACTION = 0.05
RESERVE_FRACTION = 0.15
#: Once the candidates are known, the first selection's estimate: twice what it took on this
#: 2-core machine (0.14 s for 634 rows x 4 classes x 8 candidates, 0.25 s for 3,673 x 7 x 8,
#: 1.9 s for 15,000 x 26 x 8), so that a refit that fits is not left out for a flat 5%.
SELECTION_BASE = 0.3
SELECTION_PER_VALUE = 1.2e-6
#: The ensemble is chosen again (without members that failed their refit or the latency
#: limit) when that ends at most this share of the budget past its deadline, as long as the
#: first choice took: the margin is kept for the rest. Never choosing again past the margin
#: cost vehicle its ensemble at 60 s (log loss 0.52 instead of 0.30, the first choice 3.4 s);
#: always choosing again took a 30 s fit to 33.7 s.
AGAIN_PAST = 0.05


@dataclass
class EnsembleBudget(Budget):
    """A :class:`Budget` whose refit reserve also covers building the ensemble (selecting
    it and refitting its other members), so that the whole fit stays within the budget."""

    def refit_reserve(self) -> float:
        reserve = super().refit_reserve()
        if self.total is None or self.best_refit is None:
            return reserve
        extra = RESERVE_REFITS * self.best_refit + _selection_estimate(self)
        return reserve + min(RESERVE_FRACTION * self.total, extra)


@dataclass
class Candidate:
    """A trial the ensemble may use: its OOF predictions on the validation rows."""

    trial: int
    model: str
    score: float
    oof: np.ndarray
    refit_seconds: float | None = None
    folds: list | None = None  # its fold pipelines from the search, when kept (``kept_folds.py``)
    bagged: bool = False  # its fold models averaged are its member, not a refit (repeated folds)


def max_candidates(time_budget: float | None) -> int:
    """The ensemble candidates a search of ``time_budget`` seconds (None: no limit) offers."""
    return LONG_CANDIDATES if time_budget is None or time_budget >= LONG_BUDGET else MAX_CANDIDATES


def pick_candidates(records: Iterable[TrialRecord], has_oof: Callable[[TrialRecord], bool],
                    load_oof: Callable[[TrialRecord], np.ndarray | None], val_rows: np.ndarray, best: int,
                    refit_estimate: Callable[[float], float], limit: int = MAX_CANDIDATES) -> list[Candidate]:
    """The best trial first, then each other model family's best (best score first), then
    each family's second best and so on, at most ``PER_FAMILY`` per model and ``limit`` in
    all (``max_candidates``). ``records`` are the COMPLETE trials'; ``has_oof``/``load_oof``
    tell whether a trial's OOF predictions were kept and read them (only the chosen ones are
    read); ``refit_estimate`` maps a trial's CV time to its refit time.

    Families before ranks: when the best eight were taken in score order, two per family,
    a long search filled the pool with second configurations of the strong families and
    left out the weaker, different ones that the ensemble gains most from (vehicle at
    300 s: the Gaussian-mixture classifier, 0.42 of the stacker's weight at 60 s, ranked
    eleventh; the final log loss was 0.383 against 0.299 at 60 s)."""
    usable = sorted(
        (r for r in records if has_oof(r) and r.score is not None and np.isfinite(r.score)),
        key=lambda r: (r.number != best, -r.score, r.number),
    )
    ranked: list[tuple[int, int, TrialRecord]] = []
    per_family: dict[str, int] = {}
    for order, r in enumerate(usable):
        rank = per_family.get(r.model, 0)
        per_family[r.model] = rank + 1
        if rank < PER_FAMILY:
            ranked.append((rank, order, r))
    chosen: list[Candidate] = []
    for _, _, r in sorted(ranked, key=lambda item: item[:2]):
        oof = load_oof(r)
        if oof is None:
            continue
        chosen.append(Candidate(r.number, r.model, float(r.score), oof[val_rows],
                                None if r.fit_time is None else refit_estimate(float(r.fit_time))))
        if len(chosen) == limit:
            break
    return chosen


# ------------------------------------------------------------------ combiners --
@dataclass
class Ensemble:
    """The final model: ``method`` is "caruana", "stacking" or "single".

    ``members``: ``{"trial", "model", "weight"}`` per member (for stacking, the weight
    is the member's share of the meta-learner's absolute coefficients). ``oof_score``:
    the chosen method's score from the inner cross-validation over the out-of-fold rows;
    ``single_best_score``: the best single model's out-of-fold score; ``scores``: every
    method tried; ``notes``: what happened (the gain over the best model and its standard
    error, fallbacks, members dropped).
    """

    method: str
    members: list[dict]
    oof_score: float
    single_best_score: float
    scores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    pipelines: list = field(default_factory=list, repr=False)
    combiner: object = field(default=None, repr=False)
    calibrator: object = field(default=None, repr=False)  # calibration.Calibrator of the probabilities, or None
    floor: float = 0.0  # the share of the uniform distribution mixed into the probabilities (calibration.floor_for)

    @property
    def weights(self) -> tuple[float, ...]:
        return tuple(m["weight"] for m in self.members)

    @property
    def report(self) -> str:
        if self.method == "single":
            head = f"single best model (trial {self.members[0]['trial']}, {self.members[0]['model']})"
        else:
            parts = ", ".join(f"trial {m['trial']} {m['model']} {m['weight']:.2f}" for m in self.members)
            head = f"{self.method} ensemble of {len(self.members)}: {parts}"
        return "; ".join([head, *self.notes])

    def fast_path(self, n_classes: int) -> FastPath:
        """The members compiled for a few rows (built on first use, never saved)."""
        fast = self.__dict__.get("_fast")
        if fast is None or fast.n_classes != n_classes or fast.pipelines != self.pipelines:
            fast = self.__dict__["_fast"] = FastPath(self.pipelines, n_classes)
        return fast

    def __getstate__(self):
        state = dict(self.__dict__)
        state.pop("_fast", None)  # rebuilt from the pipelines
        return state

    def trial_weights(self) -> dict[int, float]:
        return {m["trial"]: m["weight"] for m in self.members}

    def predict_scores(self, X, n_classes: int) -> np.ndarray:
        """Class probabilities (columns 0..K-1, rows sum to 1) or regression values. Up
        to ``FAST_ROWS`` rows of a frame go through the compiled members (``fast_path``)."""
        preds = None
        if isinstance(X, pd.DataFrame) and len(X) <= FAST_ROWS:
            try:
                preds = self.fast_path(n_classes).member_scores(X)
            except Exception as exc:  # noqa: BLE001 - never worse than the batch path: it decides
                log.debug("Fast path failed (%s: %s); predicting through the pipelines.", type(exc).__name__, exc)
        if preds is None:
            preds = [predict_scores(pipe, X, n_classes) for pipe in self.pipelines]
        combined = preds[0] if self.combiner is None else self.combiner.combine(preds)
        if self.calibrator is not None:
            combined = self.calibrator.apply(combined)
        return with_floor(combined, self.floor) if n_classes else combined


def single(trial: int | None, model: str, pipeline, score: float, note: str = "") -> Ensemble:
    """The single best pipeline as the final model."""
    return Ensemble("single", [{"trial": trial, "model": model, "weight": 1.0}], score, score,
                    {"single": score}, [note] if note else [], [pipeline])


def build_ensemble(candidates: list[Candidate], best_pipeline: Pipeline, y: np.ndarray, metric: Metric,
                   task: Task, n_classes: int, seed: int, budget: Budget,
                   refit: Callable[[int], Pipeline], latency: Latency | None = None) -> Ensemble:
    """The final model from ``candidates`` (at least one: the refit best first; ``y``: the
    labels of the validation rows). ``refit(trial)`` fits a member on all rows. With
    ``latency``, members are left out (the slowest first; never the best) until predicting
    one row with the ensemble fits its limit."""
    best = candidates[0]
    base = best.score
    pool, pipelines, notes = list(candidates), {best.trial: best_pipeline}, []
    selecting = _selection_estimate(budget, len(y), n_classes, len(pool))
    again = ""  # the members that failed the last choice: chosen again without them (see AGAIN_PAST)
    last = None  # the last choice that failed: (method, combiner, its members, the trials that failed)
    if latency is not None:
        def refit_now(c: Candidate) -> bool:
            c.bagged = False
            left = budget.remaining() - budget.margin - selecting
            return ((c.refit_seconds is None or c.refit_seconds <= left)
                    and _refit_member(c, pipelines, budget, refit, notes, n_classes))

        pool = _screen_fold_averages(pool, pipelines, best.trial, latency, n_classes, notes, refit_now)
    while True:
        left = budget.remaining() - budget.margin
        # A member refit after the selection must fit in what the selection leaves: else it
        # is chosen, then dropped, and choosing again may find no time left (vehicle at 60 s:
        # the single best model, log loss 0.52 against 0.30 for the ensemble).
        late = [c for c in pool if c.trial not in pipelines and c.folds is None and c.refit_seconds is not None
                and c.refit_seconds > left - selecting]
        if late:
            notes.append(f"left out {_trials(late)}: refit would take longer than the {max(left, 0):.1f} s left "
                         f"(less about {selecting:.1f} s to select the ensemble)")
            pool = [c for c in pool if c.trial not in {d.trial for d in late}]
        if again and last is not None and _past_deadline(budget, selecting) > AGAIN_PAST:
            kept = _last_choice_without(*last, pipelines, y, metric, task, n_classes, base, best.trial, latency,
                                        [*notes, f"no time left to choose again without {again}"])
            if kept is not None:
                return kept
        if len(pool) < 2 or left <= 0 or (again and _past_deadline(budget, selecting) > AGAIN_PAST):
            why = ("no other candidate" if len(candidates) < 2 else
                   f"no other candidate without {again}" if again and len(pool) < 2 else
                   f"no time left to choose again without {again}" if again else "no time left for an ensemble")
            return single(best.trial, best.model, best_pipeline, base, "; ".join([*notes, why]))
        if again:
            notes.append(f"chosen again without {again}")
        started = budget.elapsed()
        scores, method, combiner, used, gain = select([c.oof for c in pool], y, metric, task, n_classes, seed)
        selecting = budget.elapsed() - started
        if not gain.holds(base):
            why = (f"an ensemble did not beat the best model out of fold: {gain} "
                   f"(caruana {scores['caruana']:.6g}, stacking {scores['stacking']:.6g}, best model per inner fold "
                   f"{scores['single_nested']:.6g}, best model {base:.6g})")
            ensemble = single(best.trial, best.model, best_pipeline, base, "; ".join([*notes, why]))
            ensemble.scores.update(scores)
            return ensemble
        failed = [pool[i] for i in used if not _refit_member(pool[i], pipelines, budget, refit, notes, n_classes)]
        if not failed and latency is not None:
            chosen = [pool[i] for i in used]
            latency.thin_best(chosen, pipelines, best.trial, notes)
            failed = latency.over_limit(chosen, pipelines, best.trial, notes)
        if not failed:
            break
        last = (method, combiner, [pool[i] for i in used], {d.trial for d in failed})
        pool = [c for c in pool if c.trial not in {d.trial for d in failed}]
        again = _trials(failed)
    members = [{"trial": pool[i].trial, "model": pool[i].model, "weight": float(w)}
               for i, w in zip(used, combiner.shares())]
    return Ensemble(method, members, scores[method], base, scores | {"single": base}, [*notes, str(gain)],
                    [pipelines[pool[i].trial] for i in used], combiner)


def _past_deadline(budget: Budget, seconds: float) -> float:
    """The share of the budget by which ``seconds`` more work would end past its deadline
    (0 without a budget)."""
    return 0.0 if budget.total is None else max(0.0, seconds - budget.remaining()) / budget.total


def _selection_estimate(budget: Budget, rows: int | None = None, n_classes: int = 0,
                        candidates: int = MAX_CANDIDATES) -> float:
    """Seconds a selection is expected to take before the first is timed; 0 without a
    budget. Without ``rows`` (during the search), what the search's reserve keeps for it
    (``EnsembleBudget``); with them, ``SELECTION_BASE`` plus ``SELECTION_PER_VALUE`` for
    each OOF value of the ``candidates`` (``rows`` x ``n_classes``, or 1 for regression)."""
    if budget.total is None:
        return 0.0
    if rows is None:
        return max(SELECTION_SECONDS, SELECTION_FRACTION * budget.total)
    return SELECTION_BASE + SELECTION_PER_VALUE * rows * max(n_classes, 1) * candidates


def _last_choice_without(method: str, combiner, members: list[Candidate], failed: set[int], pipelines: dict,
                         y: np.ndarray,
                         metric: Metric, task: Task, n_classes: int, base: float, best: int,
                         latency: Latency | None, notes: list[str]) -> Ensemble | None:
    """The last choice (``method``, ``combiner`` over ``members``) without the trials that
    ``failed`` it, those not in ``pipelines`` and, with ``latency``, the slowest until one
    row predicts within the limit, when there is no time to choose again: the caruana weights
    renormalised, or the stacker refit on the rest (a fit on the OOF rows, no selection). Kept
    when its score on all OOF rows still beats the best model's (``base``) by more than
    ``TOLERANCE``; None otherwise (the single best model)."""
    shares = {c.trial: w for c, w in zip(members, combiner.shares())}
    kept = [c for c in members if c.trial in pipelines and c.trial not in failed and shares[c.trial] > 0]
    while latency is not None and len(kept) >= 2:
        slow = {c.trial for c in latency.over_limit(kept, pipelines, best, notes)}
        if not slow:
            break
        kept = [c for c in kept if c.trial not in slow]
    if len(kept) < 2:
        return None
    preds = [c.oof for c in kept]
    if method == "caruana":
        weights = np.array([shares[c.trial] for c in kept])
        combiner = WeightedAverage(weights / weights.sum())
    else:
        combiner = Stacker(task, n_classes).fit(preds, y)
    score = float(metric.score(y, combiner.combine(preds), task))
    if not score - base > TOLERANCE * max(abs(base), 1e-12):
        return None
    members = [{"trial": c.trial, "model": c.model, "weight": float(w)} for c, w in zip(kept, combiner.shares())]
    note = (f"kept the last choice without it: {method} {score:.6g} on all out-of-fold rows (not nested), "
            f"best model {base:.6g}")
    return Ensemble(method, members, score, base, {method: score, "single": base}, [*notes, note],
                    [pipelines[c.trial] for c in kept], combiner)


def _screen_fold_averages(pool: list[Candidate], pipelines: dict, best: int, latency: Latency, n_classes: int,
                          notes: list[str], refit_now: Callable[[Candidate], bool]) -> list[Candidate]:
    """``pool`` before choosing, for the candidates whose fold models the search kept: a
    member whose refit does not fit in the time left joins as them, averaged (K predictions
    a row). Where those, with the best model (trial ``best``, in ``pipelines``) alone, take
    longer than the latency limit to predict one row, the candidate is refit now when
    ``refit_now`` can (it refits it into ``pipelines``), else left out. Chosen as an average,
    it would be left out after the choice, and choosing again may find no time left
    (vehicle at 60 s: a Gaussian mixture's 10 fold models, 31-36 ms a row, its refit 0.2 s
    but 0.0 s left after the first choice; titanic: XGBoost's, 55 ms)."""
    slow = latency.too_slow_beside(best, pipelines[best], {c.trial: c.folds for c in pool
                                                           if c.folds and c.trial not in pipelines})
    kept = []
    for c in pool:
        if c.trial in slow:
            why = (f"its {len(c.folds)} fold models averaged take {1000 * slow[c.trial]:.0f} ms a row: with the "
                   f"best model, over the {1000 * latency.limit:.0f} ms limit")
            if not refit_now(c):
                notes.append(f"left out trial {c.trial} ({c.model}): {why}, and it could not be refit before choosing")
                continue
            notes.append(f"refit trial {c.trial} ({c.model}) before choosing: {why}")
        kept.append(c)
    return kept


def _trials(candidates: list[Candidate]) -> str:
    return ", ".join(f"trial {c.trial} ({c.model})" for c in candidates)


def _refit_member(c: Candidate, pipelines: dict, budget: Budget, refit, notes: list[str], n_classes: int) -> bool:
    """Refit candidate ``c`` on all rows unless it is done; when that cannot be done in
    time, its fold models from the search averaged are the member, if they were kept."""
    if c.trial in pipelines:
        return True
    if c.bagged and c.folds:
        pipelines[c.trial] = FoldAverage(c.folds, n_classes)
        notes.append(f"trial {c.trial} ({c.model}) is its {len(c.folds)} fold models averaged (bagged)")
        return True
    left = budget.remaining() - budget.margin
    if c.refit_seconds is not None and c.refit_seconds > left and c.folds:
        pipelines[c.trial] = FoldAverage(c.folds, n_classes)
        notes.append(f"trial {c.trial} ({c.model}) is its {len(c.folds)} fold model(s) averaged: its refit "
                     f"would take about {c.refit_seconds:.1f} s, {max(left, 0):.1f} s left")
        return True
    if c.refit_seconds is not None and c.refit_seconds > left:
        notes.append(f"dropped trial {c.trial} ({c.model}): its refit would take about "
                     f"{c.refit_seconds:.1f} s, {max(left, 0):.1f} s left")
        return False
    try:
        pipelines[c.trial] = refit(c.trial)
    except Exception as exc:
        log.warning("Refit of ensemble member trial %d (%s) failed: %s", c.trial, c.model, exc)
        notes.append(f"dropped trial {c.trial} ({c.model}): its refit failed ({type(exc).__name__}: {exc})")
        return False
    return True
