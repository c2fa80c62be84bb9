"""Task kinds and task detection from the target column."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.exceptions import DataError

#: Integer-coded targets with at most this many distinct values are treated as classes.
MAX_INTEGER_CLASSES = 30


class Task(str, enum.Enum):
    """The three supervised tabular tasks."""

    BINARY = "binary"
    MULTICLASS = "multiclass"
    REGRESSION = "regression"

    @property
    def is_classification(self) -> bool:
        return self is not Task.REGRESSION

    def __str__(self) -> str:  # "binary", not "Task.BINARY"
        return self.value


@dataclass(frozen=True)
class TaskDecision:
    task: Task
    reason: str


def _is_whole(values: pd.Series) -> bool:
    arr = values.to_numpy(dtype=float)
    return bool(np.all(np.isfinite(arr)) and np.all(np.mod(arr, 1) == 0))


def _classes(n_unique: int, what: str) -> TaskDecision:
    if n_unique == 2:
        return TaskDecision(Task.BINARY, f"{what} with 2 distinct values")
    return TaskDecision(Task.MULTICLASS, f"{what} with {n_unique} distinct values")


def detect_task(y: pd.Series) -> TaskDecision:
    """Decide binary / multiclass / regression from the target's dtype and values.

    * strings, booleans and categories are classes;
    * integers (and floats holding only whole numbers, which is what pandas makes
      of an integer column with missing values) with at most ``MAX_INTEGER_CLASSES``
      distinct values are classes, otherwise regression;
    * other floats are regression.

    Missing target values are ignored here (``fit`` drops those rows).
    """
    name = y.name if y.name is not None else "target"
    present = y.dropna()
    if present.empty:
        raise DataError(f"Target column {name!r} has no values: every row is missing.")
    n_unique = int(present.nunique())
    if n_unique < 2:
        raise DataError(
            f"Target column {name!r} has a single value ({present.iloc[0]!r}); "
            "there is nothing to learn. Check that you chose the right target column."
        )
    dtype = y.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return _classes(n_unique, "boolean target")
    if isinstance(dtype, pd.CategoricalDtype) or not pd.api.types.is_numeric_dtype(dtype):
        return _classes(n_unique, "text/categorical target")
    if pd.api.types.is_integer_dtype(dtype) or _is_whole(present):
        kind = "integer target" if pd.api.types.is_integer_dtype(dtype) else "float target holding whole numbers"
        if n_unique == 2 or n_unique <= MAX_INTEGER_CLASSES:
            return _classes(n_unique, kind)
        return TaskDecision(
            Task.REGRESSION,
            f"{kind} with {n_unique} distinct values (more than {MAX_INTEGER_CLASSES})",
        )
    return TaskDecision(Task.REGRESSION, f"float target with {n_unique} distinct values")


def resolve_task(y: pd.Series, task: str | Task | None) -> TaskDecision:
    """Use the user's ``task=`` when given (validated against the data), else detect it."""
    if task is None or task == "auto":
        return detect_task(y)
    try:
        chosen = Task(task)
    except ValueError:
        raise DataError(
            f"task={task!r} is not a task; use one of {[t.value for t in Task]} or None to detect it."
        ) from None
    n_unique = int(y.dropna().nunique())
    if chosen is Task.BINARY and n_unique != 2:
        raise DataError(f"task='binary' but the target has {n_unique} distinct values, not 2.")
    if chosen is Task.MULTICLASS and n_unique < 2:
        raise DataError("task='multiclass' but the target has fewer than 2 distinct values.")
    if chosen is Task.REGRESSION and not pd.api.types.is_numeric_dtype(y.dtype):
        raise DataError(f"task='regression' but the target has non-numeric dtype {y.dtype}.")
    return TaskDecision(chosen, "set by the user (task=)")
