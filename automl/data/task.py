"""Task kinds and task detection from the target column."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np
import pandas as pd

from automl.exceptions import DataError

#: Integer-coded targets with at most this many distinct values are treated as classes.
MAX_INTEGER_CLASSES = 30
#: ``task="classification"``: binary or multiclass, from the number of classes.
CLASSIFICATION = "classification"


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
    name, present, n_unique = _present(y)
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


def _present(y: pd.Series) -> tuple[str, pd.Series, int]:
    """The target's name, its present values and their number of distinct values (at least 2)."""
    name = y.name if y.name is not None else "target"
    present = y.dropna()
    if present.empty:
        raise DataError(f"Target column {name!r} has no values: every row is missing.")
    n_unique = int(present.nunique())
    if n_unique < 2:
        raise DataError(
            f"Target column {name!r} has a single value ({present.iloc[:1].tolist()[0]!r}), so only 1 class: "
            "there is nothing to learn. Check that you chose the right target column."
        )
    return name, present, n_unique


def _check_labels(y: pd.Series, task: str) -> None:
    """A classification target holds labels: continuous values are refused, as scikit-learn's
    classifiers refuse them ("Unknown label type")."""
    present = y.dropna()
    if pd.api.types.is_float_dtype(y.dtype) and not _is_whole(present):
        values = present.to_numpy(dtype=float)
        example = values[np.isfinite(values) & (np.mod(values, 1) != 0)][:1]
        hint = f" (e.g. {example[0]:g})" if len(example) else ""
        raise DataError(
            f"Unknown label type: task={task!r} but the target {y.name or 'target'!r} holds continuous "
            f"values{hint}; use task='regression', or task=None to detect the task."
        )


def check_classes(y: pd.Series) -> None:
    """Every class needs 2 rows (one to train on, one to validate): a class with a single
    row is refused, naming its label."""
    counts = y.dropna().value_counts()
    single = counts[counts < 2]
    if len(single):
        more = f" (and {len(single) - 1} other class(es) with one row)" if len(single) > 1 else ""
        label = single.index[0].item() if isinstance(single.index[0], np.generic) else single.index[0]
        raise DataError(
            f"Class {label!r} of the target {y.name or 'target'!r} has a single row{more}; at least 2 rows "
            "per class are needed to validate. Remove that row or merge the class with another."
        )


#: A regression target beyond this magnitude is refused: several models compute in
#: float32 (whose largest value it is) and the metrics square the errors.
MAX_TARGET = float(np.finfo(np.float32).max)


def resolve_task(y: pd.Series, task: str | Task | None) -> TaskDecision:
    """Use the user's ``task=`` when given (validated against the data), else detect it.

    ``task="classification"`` means binary or multiclass, from the number of classes. A
    regression target must be finite and within ``MAX_TARGET``.
    """
    decision = _resolve(y, task)
    if decision.task is Task.REGRESSION:
        values = np.abs(pd.to_numeric(y, errors="coerce").to_numpy(dtype=float, na_value=np.nan))
        if np.nanmax(values, initial=0) > MAX_TARGET:
            row = int(np.nanargmax(values))
            raise DataError(
                f"Target {y.name or 'target'!r} holds values as large as {y.iloc[row]:.3g} (position {row}), beyond "
                f"the {MAX_TARGET:.3g} the models compute with; rescale it (divide by a power of 10, or take a log)."
            )
    return decision


def _resolve(y: pd.Series, task: str | Task | None) -> TaskDecision:
    if task is None or task == "auto":
        return detect_task(y)
    if task == CLASSIFICATION:
        _check_labels(y, task)
        _, _, n_unique = _present(y)
        decision = _classes(n_unique, "target")
        return TaskDecision(decision.task, f"set by the user (task='classification'), {decision.reason}")
    try:
        chosen = Task(task)
    except ValueError:
        raise DataError(
            f"task={task!r} is not a task; use one of {[t.value for t in Task] + [CLASSIFICATION]} "
            "or None to detect it."
        ) from None
    if chosen.is_classification:
        _check_labels(y, chosen.value)
    _, _, n_unique = _present(y)  # no values, or a single one: nothing to learn, whatever the task
    if chosen is Task.BINARY and n_unique != 2:
        raise DataError(f"task='binary' but the target has {n_unique} distinct values, not 2.")
    if chosen is Task.MULTICLASS and n_unique < 2:
        raise DataError("task='multiclass' but the target has fewer than 2 distinct values.")
    if chosen is Task.REGRESSION and not pd.api.types.is_numeric_dtype(y.dtype):
        numbers = pd.to_numeric(y.dropna(), errors="coerce")
        if numbers.isna().any():  # numbers held as objects are fine
            example = y.dropna()[numbers.isna()].iloc[:1].tolist()
            raise DataError(f"task='regression' but the target has non-numeric values (dtype {y.dtype}, e.g. "
                            f"{example[0]!r}); use task='classification', or None to detect the task.")
    return TaskDecision(chosen, "set by the user (task=)")
