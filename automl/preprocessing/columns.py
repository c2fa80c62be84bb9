"""Preprocessing built per model family from a spec's flags and the data profile.

The result is an unfitted scikit-learn transformer; it is placed in a Pipeline in
front of the model, so every validation fold fits its own copy (no leakage).
"""

from __future__ import annotations

import sklearn
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.model_selection import KFold, StratifiedKFold
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from automl.data.profile import MAX_NATIVE_LEVELS, DataProfile, Role
from automl.spec import ModelSpec
from automl.data.task import Task
from automl.preprocessing.transformers import (AsFloat, AsText, DatetimeFeatures, Float32, NativeCategorical, SafeNames,
                                               TextFeatures)

_SKLEARN = tuple(int(p) for p in sklearn.__version__.split(".")[:2])


def _numeric_steps(spec: ModelSpec) -> list:
    steps: list = []
    if not spec.handles_missing:
        steps.append(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True))
    if spec.needs_scaling:
        steps.append(StandardScaler())
    return steps


def _target_encoder(task: Task) -> TargetEncoder:
    """Target encoding cross-fitted on seeded shuffled folds (deterministic)."""
    target_type = {Task.BINARY: "binary", Task.MULTICLASS: "multiclass"}.get(task, "continuous")
    if _SKLEARN < (1, 9):  # before 1.9 the folds are set by shuffle/random_state
        return TargetEncoder(target_type=target_type, shuffle=True, random_state=0)
    folds = KFold if task is Task.REGRESSION else StratifiedKFold
    return TargetEncoder(target_type=target_type, cv=folds(5, shuffle=True, random_state=0))


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
    high = profile.names(Role.HIGH_CARDINALITY)
    if spec.handles_categorical:
        native = low + [c for c in high if profile.column(c).n_unique <= MAX_NATIVE_LEVELS]
        encoded = [c for c in high if c not in native]
        if native:
            parts.append(("cat", NativeCategorical(), native))
    else:
        encoded = high
        if low:
            onehot = OneHotEncoder(
                handle_unknown="infrequent_if_exist", min_frequency=5, sparse_output=False, dtype=float_dtype
            )
            parts.append(("cat", make_pipeline(AsText(), onehot), low))
    if encoded:
        steps = [AsText(), _target_encoder(task)] + ([StandardScaler()] if spec.needs_scaling else [])
        parts.append(("te", make_pipeline(*steps), encoded))
    for i, col in enumerate(profile.names(Role.TEXT)):
        steps = [TextFeatures()] + ([StandardScaler()] if spec.needs_scaling else [])
        parts.append((f"text{i}", make_pipeline(*steps), [col]))

    columns = ColumnTransformer(parts, remainder="drop", sparse_threshold=0.0, verbose_feature_names_out=True)
    steps = [("columns", columns), ("names", SafeNames())] + ([("float32", Float32())] if float_dtype == "float32" else [])
    return Pipeline(steps).set_output(transform="pandas")
