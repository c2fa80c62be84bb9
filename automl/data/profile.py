"""Column profiling: what each input column is, and which ones are dropped and why."""

from __future__ import annotations

import enum
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from automl.data.text import text_series

#: String columns with at most this many levels are one-hot encoded for models without
#: native categorical support; above it they are target-encoded.
LOW_CARDINALITY = 25
#: Native categorical support is used up to this many levels (HistGradientBoosting's limit is 255).
MAX_NATIVE_LEVELS = 200
#: A string column whose values have at least this many words on average is free text.
TEXT_MIN_WORDS = 3.0
_DATE_SAMPLE = 200
#: ``pd.api.types.infer_dtype`` kinds of an object column that holds only numbers.
NUMBER_KINDS = ("integer", "floating", "mixed-integer-float", "decimal")


class Role(str, enum.Enum):
    NUMERIC = "numeric"
    BOOLEAN = "boolean"
    CATEGORICAL = "categorical"          # low cardinality
    HIGH_CARDINALITY = "high_cardinality"
    DATETIME = "datetime"
    TEXT = "text"
    ID = "id"                            # dropped
    CONSTANT = "constant"                # dropped (includes all-missing)

    @property
    def dropped(self) -> bool:
        return self in (Role.ID, Role.CONSTANT)


@dataclass(frozen=True)
class ColumnProfile:
    name: str
    role: Role
    dtype: str
    n_unique: int
    n_missing: int
    reason: str


@dataclass(frozen=True)
class DataProfile:
    """What the search and the preprocessing know of the training data."""

    n_rows: int
    columns: tuple[ColumnProfile, ...]
    n_classes: int = 0
    extra: dict = field(default_factory=dict, compare=False)

    @property
    def n_features(self) -> int:
        """Columns kept for modelling."""
        return sum(not c.role.dropped for c in self.columns)

    def names(self, *roles: Role) -> list[str]:
        return [c.name for c in self.columns if c.role in roles]

    def column(self, name: str) -> ColumnProfile:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def dropped(self) -> dict[str, str]:
        return {c.name: c.reason for c in self.columns if c.role.dropped}

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [(c.name, c.role.value, c.dtype, c.n_unique, c.n_missing, c.reason) for c in self.columns],
            columns=["column", "role", "dtype", "n_unique", "n_missing", "reason"],
        ).set_index("column")


def _looks_like_dates(values: pd.Series) -> bool:
    sample = values.dropna().head(_DATE_SAMPLE)
    if sample.empty or sample.str.len().median() < 6 or not sample.str.contains(r"\d").all():
        return False
    if sample.str.fullmatch(r"[+-]?\d+(\.\d+)?").all():  # plain numbers, not dates
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() >= 0.95)


def profile_column(s: pd.Series) -> ColumnProfile:
    """Classify one column (see :class:`Role`)."""
    name = str(s.name)
    n_missing = int(s.isna().sum())
    present = s.dropna()
    n_unique = int(present.nunique())
    dtype = str(s.dtype)

    def make(role: Role, reason: str) -> ColumnProfile:
        return ColumnProfile(name, role, dtype, n_unique, n_missing, reason)

    if n_unique == 0:
        return make(Role.CONSTANT, "every value is missing")
    if n_unique == 1:
        return make(Role.CONSTANT, f"constant: the only value is {str(present.iloc[0])!r}")
    if pd.api.types.is_bool_dtype(s.dtype):
        return make(Role.BOOLEAN, "boolean dtype")
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return make(Role.DATETIME, "datetime dtype")
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        return make(Role.NUMERIC, "durations (as seconds)")
    if s.dtype == object and pd.api.types.infer_dtype(present, skipna=True) in NUMBER_KINDS:
        return make(Role.NUMERIC, "numbers held as Python objects")
    if pd.api.types.is_numeric_dtype(s.dtype):
        all_unique = n_unique == len(present) and len(present) >= 20
        if pd.api.types.is_integer_dtype(s.dtype) and all_unique and n_missing == 0:
            return make(Role.ID, "id-like: an integer that is different on every row")
        if n_unique == 2 and set(np.unique(present)) <= {0, 1}:
            return make(Role.BOOLEAN, "numeric 0/1")
        return make(Role.NUMERIC, "numeric dtype")
    # strings, categories, objects
    text = text_series(present)
    if isinstance(s.dtype, pd.CategoricalDtype):
        role = Role.CATEGORICAL if n_unique <= LOW_CARDINALITY else Role.HIGH_CARDINALITY
        return make(role, f"category dtype with {n_unique} levels")
    if _looks_like_dates(text):
        return make(Role.DATETIME, "strings that parse as dates")
    # words are counted only where text is possible (splitting a million values costs seconds)
    many = n_unique > max(LOW_CARDINALITY, 0.2 * len(present))
    mean_words = float(text.str.split().str.len().mean()) if many else 0.0
    if many and mean_words >= TEXT_MIN_WORDS:
        return make(Role.TEXT, f"free text ({mean_words:.1f} words per value on average)")
    if n_unique == len(present) and len(present) >= 20:
        return make(Role.ID, "id-like: a string that is different on every row")
    if n_unique <= LOW_CARDINALITY:
        return make(Role.CATEGORICAL, f"{n_unique} distinct strings")
    return make(Role.HIGH_CARDINALITY, f"{n_unique} distinct strings (more than {LOW_CARDINALITY})")


def profile_frame(X: pd.DataFrame, n_classes: int = 0) -> DataProfile:
    return DataProfile(
        n_rows=len(X),
        columns=tuple(profile_column(X[c]) for c in X.columns),
        n_classes=n_classes,
    )
