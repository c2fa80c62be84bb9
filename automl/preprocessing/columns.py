"""Preprocessing built per model family from a spec's flags and the data profile.

The result is an unfitted scikit-learn transformer; it is placed in a Pipeline in
front of the model, so every validation fold fits its own copy (no leakage).
"""

from __future__ import annotations

from itertools import combinations

import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from automl.data.profile import MAX_NATIVE_LEVELS, DataProfile, Role
from automl.spec import ModelSpec
from automl.data.task import Task
from automl.preprocessing.transformers import (AsFloat, AsText, CategoryPairs, DatetimeFeatures, Float32,
                                               NativeCategorical, SafeNames, TextFeatures)

_SKLEARN = tuple(int(p) for p in sklearn.__version__.split(".")[:2])
#: ``ModelSpec.target_encoding``: the pairs of categorical columns are encoded too when there
#: are at most PAIR_COLUMNS of them (10 pairs at most); nothing is added when the encodings
#: would take more than MAX_ENCODED columns (a multiclass encoding takes one per class), nor
#: on tables of more than MAX_ENCODED_ROWS rows.
#: Measured at 60 s, seeds 0 and 1 (``benchmarks/results/target_encoding_60s.md``): the small
#: tables titanic, credit_g and telco_churn (668-5,300 training rows) gained; the larger ones
#: (adult, california_housing, diamonds, nycflights: 15,000-40,000 rows) were level but
#: nycflights (one seed -0.010), and at 1M rows the encodings cost 4 of 20 trials at a level
#: AUC (``scale_120s_1m_te.md``): there the native categoricals' statistics are well estimated
#: and the encodings only cost time. ames_housing (40 encodings: -0.5%, within its run-to-run
#: spread) set MAX_ENCODED, a bound on the added width and fit time, not a measured gain.
PAIR_COLUMNS = 5
MAX_ENCODED = 24
MAX_ENCODED_ROWS = 10_000


def _numeric_steps(spec: ModelSpec) -> list:
    steps: list = []
    if not spec.handles_missing:
        steps.append(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    if spec.needs_scaling:
        steps.append(StandardScaler())
    return steps


def _target_encoder(task: Task, profile: DataProfile) -> TargetEncoder:
    """Target encoding cross-fitted on seeded shuffled folds (deterministic). Stratified
    for classification when every fold's training rows (at least half the table's) hold
    some class 5 times; on tinier tables StratifiedKFold refuses, and plain folds are used."""
    target_type = {Task.BINARY: "binary", Task.MULTICLASS: "multiclass"}.get(task, "continuous")
    if _SKLEARN < (1, 9):  # before 1.9 the folds are set by shuffle/random_state
        return TargetEncoder(target_type=target_type, shuffle=True, random_state=0)
    stratify = task is not Task.REGRESSION and profile.n_rows >= 10 * max(profile.n_classes, 2)
    folds = StratifiedKFold if stratify else KFold
    return TargetEncoder(target_type=target_type, cv=folds(5, shuffle=True, random_state=0))


def _native_and_encoded(profile: DataProfile, spec: ModelSpec) -> tuple[list[str], list[str]]:
    """The categorical columns ``spec`` gets as native categoricals, and those target-encoded
    for every model (too many levels for native ones, or no native support)."""
    high = profile.names(Role.HIGH_CARDINALITY)
    if not spec.handles_categorical:
        return [], high
    native = profile.names(Role.CATEGORICAL) + [c for c in high if profile.column(c).n_unique <= MAX_NATIVE_LEVELS]
    return native, [c for c in high if c not in native]


def target_encoded(profile: DataProfile, spec: ModelSpec, task: Task) -> list[str]:
    """The columns ``ModelSpec.target_encoding`` adds encodings of on data like ``profile``
    (none: the spec's preprocessing is that of a spec without the flag)."""
    if not spec.target_encoding or profile.n_rows > MAX_ENCODED_ROWS:
        return []
    encoded = _native_and_encoded(profile, spec)[1]
    columns = [c for c in profile.names(Role.CATEGORICAL) + profile.names(Role.HIGH_CARDINALITY) if c not in encoded]
    width = max(profile.n_classes, 2) if task is Task.MULTICLASS else 1
    return columns if len(columns) * width <= MAX_ENCODED else []


def _encodings(profile: DataProfile, task: Task, columns: list[str]) -> list[tuple]:
    """``ModelSpec.target_encoding``'s parts: the out-of-fold target encodings of the
    categorical ``columns`` (:func:`target_encoded`) and, when they are few, of their pairs."""
    if not columns:
        return []
    width = max(profile.n_classes, 2) if task is Task.MULTICLASS else 1
    parts = [("te_cat", make_pipeline(AsText(), _target_encoder(task, profile)), columns)]
    pairs = tuple(combinations(columns, 2)) if len(columns) <= PAIR_COLUMNS else ()
    if pairs and (len(columns) + len(pairs)) * width <= MAX_ENCODED:
        parts.append(("te_pair", make_pipeline(CategoryPairs(pairs), _target_encoder(task, profile)), columns))
    return parts


def build_preprocessor(profile: DataProfile, spec: ModelSpec, task: Task, float_dtype: str = "float64") -> Pipeline:
    """Column-wise preprocessing for ``spec`` on data described by ``profile``.

    * numeric/boolean: cast to float; median imputation with missing indicators unless
      the model handles NaN; standardised if the model needs scaling;
    * datetime: expanded to parts, then as numeric;
    * categorical: native ``category`` dtype for models that handle categoricals (up to
      ``MAX_NATIVE_LEVELS`` levels), else one-hot (low cardinality);
    * ``float_dtype``: the dtype of every float column ("float32" in the search's folds of
      large data: half the memory; the final refit keeps float64);
    * high cardinality: target encoding (cross-fitted inside ``fit_transform``);
    * ``spec.target_encoding``: besides, the other categorical columns target-encoded too,
      and their pairs when there are at most ``PAIR_COLUMNS`` of them (interactions);
    * text: TF-IDF terms;
    * id-like and constant columns are dropped (they are not selected).
    """
    parts: list[tuple] = []
    numeric = profile.names(Role.NUMERIC, Role.BOOLEAN)
    if numeric:
        parts.append(("num", make_pipeline(AsFloat(float_dtype), *_numeric_steps(spec)), numeric))
    dates = profile.names(Role.DATETIME)
    if dates:
        parts.append(("date", make_pipeline(DatetimeFeatures(), *_numeric_steps(spec)), dates))

    low = profile.names(Role.CATEGORICAL)
    native, encoded = _native_and_encoded(profile, spec)
    if native:
        parts.append(("cat", NativeCategorical(), native))
    if not spec.handles_categorical and low:
        onehot = OneHotEncoder(
            handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False, dtype=float_dtype
        )
        parts.append(("cat", make_pipeline(AsText(), onehot), low))
    if encoded:
        steps = [AsText(), _target_encoder(task, profile)] + ([StandardScaler()] if spec.needs_scaling else [])
        parts.append(("te", make_pipeline(*steps), encoded))
    parts.extend(_encodings(profile, task, target_encoded(profile, spec, task)))
    for i, col in enumerate(profile.names(Role.TEXT)):
        steps = [TextFeatures()] + ([StandardScaler()] if spec.needs_scaling else [])
        parts.append((f"text{i}", make_pipeline(*steps), [col]))

    columns = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True)
    steps = [("columns", columns), ("names", SafeNames())] + ([("float32", Float32())] if float_dtype == "float32" else [])
    return Pipeline(steps).set_output(transform="pandas")
