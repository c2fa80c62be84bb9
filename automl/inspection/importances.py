"""Permutation importances of the user's own columns, through the whole final model.

Each original input column is shuffled in turn, ``n_repeats`` times, and the drop of the
search metric is measured on the predictions of the complete final model (the ensemble
and every member's preprocessing) made from the raw DataFrame. By default a numeric
column strongly tied to another is shuffled only among rows alike in that partner
(conditional permutation, see ``automl.inspection.permutation``); ``method="marginal"`` shuffles
over all rows, as scikit-learn's ``permutation_importance`` does. A column the
preprocessing expands (one-hot levels, date parts, text terms) is shuffled as one
column, so it counts once, under its own name.

Held-out data gives an unbiased estimate of the final model. Without it, the importances
are measured out of fold (:func:`out_of_fold_importances`): on the training rows, each
predicted by the best trial's validation-fold model that did not train on it (see
``automl.inspection.out_of_fold``), as AutoGluon does for bagged models; the final model
was refit on those rows, so measuring it there would be optimistic (an overfitting
model's noise columns get a positive importance). A model that keeps a training sample
(``keep_training_sample=True``) and has no fold models can still be measured on it, with
a warning that says so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy import stats

from automl.exceptions import DataError
from automl.data.inputs import select_features, split_xy
from automl.inspection.permutation import METHODS, partners, permutation_drops, strata
from automl.data.profile import Role

DEFAULT_MAX_ROWS = 2000
CONFIDENCE = 0.95
COLUMNS = ["importance", "std", "ci_low", "ci_high", "rank", "note", "conditioned_on"]
OUT_OF_FOLD = "the training data, out of fold (each row predicted by the best model's fold model that did not see it)"
IN_SAMPLE = "a sample of the training data (in-sample: optimistic)"
IN_SAMPLE_WARNING = (
    "Feature importances measured on a sample of the training data: the model has seen these rows, so the "
    "importances are optimistic. Pass held-out data, feature_importances(X, y), for an unbiased estimate."
)


def sample_rows(n: int, max_rows: int, seed: int) -> np.ndarray:
    """Sorted indices of at most ``max_rows`` of ``n`` rows (seeded)."""
    if n <= max_rows:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def training_sample(X: pd.DataFrame, target: np.ndarray, name: str, seed: int,
                    max_rows: int = DEFAULT_MAX_ROWS) -> pd.DataFrame:
    """At most ``max_rows`` training rows with their (decoded) target in column ``name``."""
    rows = sample_rows(len(X), max_rows, seed)
    frame = X.iloc[rows].reset_index(drop=True)
    frame[name] = np.asarray(target)[rows]
    return frame


def evaluation_data(aml, X, y, max_rows: int) -> tuple[pd.DataFrame, np.ndarray]:
    """The fitted feature columns of at most ``max_rows`` rows of ``X`` and the encoded
    target (``y``: a column name of ``X`` or values; default the fitted target's name)."""
    features, target, _ = split_xy(X, y if y is not None else aml.target_)
    rows = sample_rows(len(features), max_rows, aml.seed)
    features, target = features.iloc[rows], target.iloc[rows].to_numpy()
    if aml.task_.is_classification:
        known = np.isin(target, aml.classes_)
        if not known.all():
            raise DataError(f"y holds labels the model was not fitted on: {pd.unique(target[~known])[:5].tolist()}.")
        y_enc = np.searchsorted(aml.classes_, target)
    else:
        y_enc = target.astype(float)
    named = hasattr(aml, "feature_names_in_")
    return select_features(features, list(aml.feature_columns_), named=named).reset_index(drop=True), y_enc


def predictions(aml, X: pd.DataFrame) -> np.ndarray:
    """What the metric scores: class probabilities (``classes_`` order) or predicted values."""
    if aml.task_.is_classification:
        return np.asarray(aml.predict_proba(X), dtype=float)
    return np.asarray(aml.predict(X), dtype=float)


def null_score(aml, y_enc: np.ndarray) -> float:
    """The metric of a constant prediction (class frequencies, or the mean) on ``y_enc``."""
    metric = aml.scorer_
    if aml.task_.is_classification:
        freq = np.bincount(y_enc, minlength=len(aml.classes_)) / len(y_enc)
        return metric.score(y_enc, np.tile(freq, (len(y_enc), 1)), aml.task_)
    return metric.score(y_enc, np.full(len(y_enc), y_enc.mean()), aml.task_)


def _check(n_repeats, max_rows, method) -> None:
    if not isinstance(n_repeats, (int, np.integer)) or n_repeats < 2:
        raise DataError(f"n_repeats must be an integer >= 2 (for the spread), got {n_repeats!r}.")
    if not isinstance(max_rows, (int, np.integer)) or max_rows < 10:
        raise DataError(f"max_rows must be an integer >= 10, got {max_rows!r}.")
    if method not in METHODS:
        raise DataError(f"method must be one of {METHODS}, got {method!r}.")


def permutation_importances(aml, X, y, n_repeats: int = 5, max_rows: int = DEFAULT_MAX_ROWS,
                            in_sample: bool = False, method: str = "conditional") -> pd.DataFrame:
    """See ``AutoML.feature_importances``. ``in_sample``: ``X`` is training data (warns).

    ``method``: "conditional" shuffles a numeric column among rows alike in its most
    dependent numeric column, "marginal" over all rows (scikit-learn's permutation
    importance); see ``automl.inspection.permutation``. ``ci_low``/``ci_high`` are
    ``importance ± t(0.975, n_repeats - 1) · std``: where a repetition's drop falls 95% of
    the time, so a column whose interval contains 0 does not matter beyond noise.
    ``frame.attrs`` records the metric, the method, the score without shuffling
    (``baseline_score``), a constant prediction's (``null_score``), the rows used and
    where they came from (``data``); the ``conditioned_on`` column names each column's
    partner.
    """
    _check(n_repeats, max_rows, method)
    if in_sample:
        warnings.warn(IN_SAMPLE_WARNING, UserWarning, stacklevel=3)
    features, y_enc = evaluation_data(aml, X, y, max_rows)
    return _measure(aml, features, y_enc, lambda frame: predictions(aml, frame), n_repeats, method,
                    IN_SAMPLE if in_sample else "the data given")


def out_of_fold_importances(aml, oof, n_repeats: int = 5, max_rows: int = DEFAULT_MAX_ROWS,
                            method: str = "conditional") -> pd.DataFrame:
    """As :func:`permutation_importances`, on at most ``max_rows`` of ``oof``'s rows (an
    ``OutOfFold``), each predicted by its own fold's model: no row is scored by a model that
    was trained on it. ``frame.attrs["data"]`` says so."""
    _check(n_repeats, max_rows, method)
    rows = sample_rows(len(oof.y), max_rows, aml.seed)
    features = select_features(oof.X.iloc[rows], list(aml.feature_columns_)).reset_index(drop=True)
    fold = oof.fold[rows]
    return _measure(aml, features, oof.y[rows], lambda frame: oof.predict(frame, fold), n_repeats, method,
                    OUT_OF_FOLD)


def _measure(aml, features: pd.DataFrame, y_enc: np.ndarray, predict, n_repeats: int, method: str,
             data: str) -> pd.DataFrame:
    """The importance table of ``features`` (the fitted columns) scored through ``predict``."""
    metric = aml.scorer_
    names = list(aml.feature_columns_)
    dropped = aml.profile_.dropped
    kept = [c for c in names if c not in dropped]

    def score(frame: pd.DataFrame) -> float:
        # Dropped columns are not shuffled: they come back as NaN, which the model ignores.
        return metric.score(y_enc, predict(frame.reindex(columns=names)), aml.task_)

    pairs = {}
    if method == "conditional":
        pairs = partners(features[kept], aml.profile_.names(Role.NUMERIC, Role.BOOLEAN))
    groups = {c: strata(features[p]) for c, p in pairs.items()}
    baseline, drops = permutation_drops(score, features[kept], kept, n_repeats, aml.seed, groups)
    mean, std = drops.mean(axis=1), drops.std(axis=1, ddof=1)
    half = stats.t.ppf(0.5 + CONFIDENCE / 2, n_repeats - 1) * std
    frame = pd.DataFrame(
        {"importance": mean, "std": std, "ci_low": mean - half, "ci_high": mean + half}, index=kept
    )
    frame["rank"] = frame["importance"].rank(ascending=False, method="first").astype("Int64")
    frame["note"] = ""
    frame["conditioned_on"] = [pairs.get(c, "") for c in kept]
    frame = frame.sort_values("rank")
    if dropped:
        notes = pd.DataFrame({"note": [f"dropped before modelling: {why}" for why in dropped.values()]},
                             index=list(dropped))
        frame = pd.concat([frame, notes.reindex(columns=COLUMNS).astype(frame.dtypes.to_dict())])
    frame.index.name = "feature"
    frame.attrs.update(
        metric=aml.metric_,
        method=method,
        baseline_score=baseline,
        null_score=null_score(aml, y_enc),
        n_rows=len(features),
        n_repeats=int(n_repeats),
        data=data,
    )
    return frame[COLUMNS]
