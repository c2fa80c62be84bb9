"""The fitted preprocessing of a member, compiled into array operations for a few rows.

``build_preprocessor`` makes a ``Pipeline([ColumnTransformer, SafeNames])`` with pandas
output: right for batches, but on one row its pandas and validation machinery costs
milliseconds. :func:`compile_prep` reads the fitted parts once and returns a
:class:`CompiledPrep` that maps the raw feature columns (1-D arrays) straight to the
model's input matrix (float64; a native categorical column holds its category code,
NaN when missing or unseen), with the same values as the batch path:

* numeric: ``AsFloat`` + median imputation with missing indicators + scaling, applied as
  the fitted statistics (the same float operations in the same order);
* native categorical: the code of ``str(value)`` among the fitted categories;
* one-hot and target encoding (with their scaling): these are separable per column, so
  each column's output for every fitted category, for an unseen value and for a missing
  one is read once by running the fitted transformer on probe rows, and a row is then a
  dictionary lookup per column (of the column's text, or of a pair's joined text, where
  ``AsText`` or ``CategoryPairs`` comes first);
* dates: each value parsed alone (``pd.to_datetime(format="mixed")`` parses a column value
  by value too) and its parts read off the ``Timestamp``, then the numeric steps;
* anything else (text): the fitted transformer itself, on those columns only.

A ``CompiledPrep`` has a ``key``: members whose preprocessing was fitted alike (same
kind, same rows) have equal keys and share one transform per call.
"""

from __future__ import annotations

import hashlib
import pickle
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler, TargetEncoder

from automl.preprocessing.transformers import (CLIP, AsFloat, AsText, CategoryPairs, DatetimeFeatures, Float32,
                                               NativeCategorical,
                                               SafeNames, column_text, to_number)


class NotCompilable(Exception):
    """The fitted preprocessing holds a part this module does not know: use the batch path."""


def _floats(values: np.ndarray) -> np.ndarray:
    """``AsFloat`` on one column: numbers as float64, anything else coerced (NaN when not a
    number), clipped to +-``CLIP``."""
    if isinstance(values, np.ndarray) and values.dtype.kind in "fiub":
        out = values.astype(np.float64)
    else:
        out = to_number(pd.Series(values)).to_numpy(dtype=np.float64, na_value=np.nan)
    return np.clip(out, -CLIP, CLIP, out=out)


class _Numeric:
    """AsFloat → [SimpleImputer(median, indicators)] → [StandardScaler]."""

    def __init__(self, columns, steps):
        self.columns = list(columns)
        self.fill = self.indicate = self.mean = self.scale = None
        self.float32 = False  # AsFloat(dtype="float32"): the values rounded to float32, as the batch path
        for step in steps:
            if isinstance(step, AsFloat):
                self.float32 = getattr(step, "dtype", "float64") == "float32"
                continue
            if isinstance(step, SimpleImputer) and step.strategy in ("median", "mean") and _nan(step.missing_values):
                self.fill = np.asarray(step.statistics_, dtype=np.float64)
                ind = step.indicator_
                self.indicate = None if ind is None else np.asarray(ind.features_, dtype=int)
                if ind is not None and ind.features != "missing-only":
                    raise NotCompilable("missing indicator on all features")
            elif isinstance(step, StandardScaler):
                self.mean = None if step.mean_ is None or not step.with_mean else np.asarray(step.mean_, dtype=np.float64)
                self.scale = None if step.scale_ is None or not step.with_std else np.asarray(step.scale_, dtype=np.float64)
            else:
                raise NotCompilable(f"numeric step {type(step).__name__}")
        if self.fill is not None and np.isnan(self.fill).any():
            raise NotCompilable("an imputer dropped an empty column")

    def __call__(self, cols: dict, n: int) -> np.ndarray:
        X = np.empty((n, len(self.columns)), dtype=np.float64)
        for j, c in enumerate(self.columns):
            X[:, j] = _floats(cols[c])
        if self.float32:
            X = X.astype(np.float32).astype(np.float64)
        if self.fill is not None:
            missing = np.isnan(X)
            if self.indicate is not None and len(self.indicate):
                flags = missing[:, self.indicate].astype(np.float64)
            else:
                flags = None
            if missing.any():
                X[missing] = np.take(self.fill, np.nonzero(missing)[1])
            if flags is not None:
                X = np.hstack([X, flags])
        if self.mean is not None:
            X -= self.mean
        if self.scale is not None:
            X /= self.scale
        return X

    def state(self):
        return ("num", self.columns, self.fill, self.indicate, self.mean, self.scale, self.float32)


def _nan(value) -> bool:
    return isinstance(value, float) and np.isnan(value)


class _Native:
    """``NativeCategorical``: the code of ``str(value)`` among the fitted categories (NaN: missing or unseen)."""

    def __init__(self, step: NativeCategorical):
        self.columns = list(step.categories_)
        self.categories = [list(step.categories_[c]) for c in self.columns]
        self.codes = [{v: float(i) for i, v in enumerate(cats)} for cats in self.categories]

    def __call__(self, cols: dict, n: int) -> np.ndarray:
        X = np.full((n, len(self.columns)), np.nan)
        for j, c in enumerate(self.columns):
            codes = self.codes[j]
            for i, v in enumerate(cols[c]):
                if not _missing(v):
                    X[i, j] = codes.get(str(v), np.nan)
        return X

    def state(self):
        return ("native", self.columns, self.categories)


def _missing(v) -> bool:
    return v is None or v is pd.NA or v is pd.NaT or (isinstance(v, (float, np.floating)) and v != v)


class _Lookup:
    """A transformer that is separable per column (one-hot, target encoding, their
    scaling): each column's output block for every fitted category, an unseen value and
    a missing one, read by running it on probe rows."""

    def __init__(self, columns, transformer, encoder):
        self.columns = list(columns)
        cats = [np.asarray(c) for c in encoder.categories_]
        if len(cats) != len(self.columns):
            raise NotCompilable("categories do not match the columns")
        first = [c[0] for c in cats]
        # One probe frame for all columns (one transform call): block j varies column j over
        # its categories, an unseen value, NaN and None; the other columns hold a category.
        probes = [[v for v in c if not _missing(v)] + [_unseen(c), np.nan, None] for c in cats]
        starts_rows = np.concatenate([[0], np.cumsum([len(p) for p in probes])])
        data = {}
        for k, col in enumerate(self.columns):
            values = [first[k]] * int(starts_rows[-1])
            values[starts_rows[k]:starts_rows[k + 1]] = probes[k]
            series = pd.Series(values, dtype=object)
            data[col] = pd.to_numeric(series, errors="coerce") if cats[k].dtype.kind in "fiu" else series
        out = np.asarray(transformer.transform(pd.DataFrame(data)), dtype=np.float64)
        width = out.shape[1]
        sizes = _block_sizes(encoder, len(self.columns), width)
        starts = np.concatenate([[0], np.cumsum(sizes)])
        self.tables, self.unknown, self.missing_nan, self.missing_none, self.slices = [], [], [], [], []
        for j in range(len(self.columns)):
            sl = slice(int(starts[j]), int(starts[j + 1]))
            rows = out[starts_rows[j]:starts_rows[j + 1], sl]
            known = probes[j][:-3]
            self.tables.append({v: rows[i].copy() for i, v in enumerate(known)})
            self.unknown.append(rows[len(known)].copy())
            self.missing_nan.append(rows[len(known) + 1].copy())
            self.missing_none.append(rows[len(known) + 2].copy())
            self.slices.append(sl)
        self.width = width

    def __call__(self, cols: dict, n: int) -> np.ndarray:
        X = np.empty((n, self.width), dtype=np.float64)
        for j, c in enumerate(self.columns):
            table, unknown, sl = self.tables[j], self.unknown[j], self.slices[j]
            for i, v in enumerate(cols[c]):
                if _missing(v):
                    X[i, sl] = self.missing_none[j] if v is None else self.missing_nan[j]
                else:
                    try:
                        X[i, sl] = table.get(v, unknown)
                    except TypeError:  # an unhashable value: not a category
                        X[i, sl] = unknown
        return X

    def state(self):
        return ("lookup", self.columns, [sorted(map(repr, t)) for t in self.tables],
                [list(t.values()) for t in self.tables], self.unknown, self.missing_nan, self.missing_none)


def _unseen(cats: np.ndarray):
    if cats.dtype.kind in "fiu":
        finite = cats[np.isfinite(cats.astype(float))]
        return float(finite.max() + 1.5) if len(finite) else 0.5
    return "\x00automl-unseen\x00"


def _block_sizes(encoder, n_features: int, width: int) -> list[int]:
    if isinstance(encoder, OneHotEncoder):
        sizes = getattr(encoder, "_n_features_outs", None)
        if sizes is None or sum(sizes) != width:
            raise NotCompilable("one-hot layout unknown")
        return list(sizes)
    if width % n_features:
        raise NotCompilable("target-encoding layout unknown")
    return [width // n_features] * n_features


class _Texted:
    """An encoder behind ``AsText`` or ``CategoryPairs``: the raw columns made text as that
    step does, then the encoder's per-column lookup (:class:`_Lookup`, probed on text)."""

    def __init__(self, columns, transformer, text_step):
        self.columns, self.text_step = list(columns), text_step
        self.lookup = _Lookup(list(text_step.get_feature_names_out()), transformer[1:], transformer.steps[1][1])
        self.width = self.lookup.width

    def __call__(self, cols: dict, n: int) -> np.ndarray:
        if isinstance(self.text_step, CategoryPairs):
            return self.lookup(self.text_step.text(cols), n)
        return self.lookup({c: column_text(cols[c]) for c in self.columns}, n)

    def state(self):
        return ("texted", type(self.text_step).__name__, getattr(self.text_step, "pairs", ()), self.lookup.state())


_EPOCH = pd.Timestamp("1970-01-01")


def _timestamp(value) -> pd.Timestamp | None:
    """One value as ``DatetimeFeatures`` reads it (naive UTC), or None when missing or not a date."""
    if _missing(value):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ts = pd.to_datetime(value, errors="coerce", format="mixed")
    if ts is pd.NaT or not isinstance(ts, pd.Timestamp):
        return None
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo is not None else ts


class _Dated:
    """``DatetimeFeatures`` → the numeric steps: each date's parts (year, month, ...,
    days since 1970) from its ``Timestamp``, then :class:`_Numeric`'s imputation and scaling."""

    def __init__(self, columns, steps):
        dates = steps[0]
        self.columns, self.parts = list(columns), {c: list(dates.parts_[c]) for c in columns}
        self.numeric = _Numeric(list(dates.get_feature_names_out()), steps[1:])
        self.width = _width(self.numeric)

    def __call__(self, cols: dict, n: int) -> np.ndarray:
        out, names = {}, iter(self.numeric.columns)
        for c in self.columns:
            stamps = [_timestamp(v) for v in cols[c]]
            for part in (*self.parts[c], "days"):
                out[next(names)] = np.array(
                    [np.nan if ts is None else (ts - _EPOCH).total_seconds() / 86400.0 if part == "days"
                     else float(getattr(ts, part)) for ts in stamps], dtype=np.float64)
        return self.numeric(out, n)

    def state(self):
        return ("dates", self.columns, self.parts, self.numeric.state())


class _Fallback:
    """A part this module cannot compile: the fitted transformer itself, on its columns."""

    def __init__(self, columns, transformer):
        self.columns, self.transformer = list(columns), transformer
        try:
            self.width = len(transformer.get_feature_names_out())
        except Exception as exc:  # noqa: BLE001 - any failure: not compilable
            raise NotCompilable(f"width of {type(transformer).__name__}: {exc}") from exc

    def __call__(self, cols: dict, n: int) -> np.ndarray:
        frame = pd.DataFrame({c: cols[c] for c in self.columns})
        return np.asarray(self.transformer.transform(frame), dtype=np.float64)

    def state(self):
        return ("fallback", id(self.transformer))


def _part(transformer, columns):
    steps = list(transformer.named_steps.values()) if isinstance(transformer, Pipeline) else [transformer]
    if all(isinstance(s, (AsFloat, SimpleImputer, StandardScaler)) for s in steps) and isinstance(steps[0], AsFloat):
        return _Numeric(columns, steps)
    if isinstance(steps[0], DatetimeFeatures) and all(isinstance(s, (SimpleImputer, StandardScaler))
                                                        for s in steps[1:]):
        return _Dated(columns, steps)
    if len(steps) == 1 and isinstance(steps[0], NativeCategorical):
        return _Native(steps[0])
    if isinstance(steps[0], (OneHotEncoder, TargetEncoder)) and all(isinstance(s, StandardScaler) for s in steps[1:]):
        return _Lookup(columns, transformer, steps[0])
    if (isinstance(steps[0], (AsText, CategoryPairs)) and len(steps) > 1
            and isinstance(steps[1], (OneHotEncoder, TargetEncoder))
            and all(isinstance(s, StandardScaler) for s in steps[2:])):
        return _Texted(columns, transformer, steps[0])
    return _Fallback(columns, transformer)


class CompiledPrep:
    """The compiled preprocessing: ``transform(cols, n)`` maps raw columns (name → 1-D
    array of ``n`` values) to the model's input matrix; ``categorical`` marks the output
    columns holding native category codes, ``categories`` their levels (by output
    position), ``names`` the output column names (as the model saw them)."""

    def __init__(self, parts: list, names: list[str], float32: bool = False):
        self.parts = parts
        self.names = names
        self.float32 = float32  # a ``Float32`` last step: the output rounded to float32, as the batch path
        self.inputs = list(dict.fromkeys(c for p in parts for c in p.columns))
        self.categorical = np.zeros(len(names), dtype=bool)
        self.categories: dict[int, list] = {}
        pos = 0
        for p in parts:
            if isinstance(p, _Native):
                for j, cats in enumerate(p.categories):
                    self.categorical[pos + j] = True
                    self.categories[pos + j] = cats
            pos += _width(p)
        self.key = hashlib.sha1(pickle.dumps([_plain(p.state()) for p in parts] + [float32])).hexdigest()

    def transform(self, cols: dict, n: int) -> np.ndarray:
        blocks = [p(cols, n) for p in self.parts]
        X = blocks[0] if len(blocks) == 1 else np.hstack(blocks)
        if X.shape[1] != len(self.names):
            raise NotCompilable(f"compiled {X.shape[1]} columns, the batch path makes {len(self.names)}")
        return X.astype(np.float32).astype(np.float64) if self.float32 else X


def _width(part) -> int:
    if isinstance(part, _Numeric):
        return len(part.columns) + (0 if part.indicate is None else len(part.indicate))
    if isinstance(part, _Native):
        return len(part.columns)
    return part.width


def _plain(state):
    if isinstance(state, np.ndarray):
        return ("array", state.dtype.str, state.shape, state.tobytes())
    if isinstance(state, (list, tuple)):
        return tuple(_plain(s) for s in state)
    return state


def compile_prep(prep) -> CompiledPrep:
    """Compile a fitted ``build_preprocessor`` pipeline (raises :class:`NotCompilable`)."""
    if not isinstance(prep, Pipeline) or not isinstance(prep.steps[0][1], ColumnTransformer):
        raise NotCompilable(f"preprocessing of type {type(prep).__name__}")
    columns: ColumnTransformer = prep.steps[0][1]
    rest = [s for _, s in prep.steps[1:]]
    if not all(isinstance(s, (SafeNames, Float32)) for s in rest):
        raise NotCompilable("steps after the columns")
    parts = []
    for name, transformer, cols in columns.transformers_:
        if transformer == "drop" or (isinstance(cols, (list, tuple, np.ndarray)) and len(cols) == 0):
            continue
        if transformer == "passthrough" or isinstance(cols, slice) or not all(isinstance(c, str) for c in cols):
            raise NotCompilable(f"part {name!r}")
        parts.append(_part(transformer, cols))
    names = list(prep.get_feature_names_out())
    compiled = CompiledPrep(parts, names, any(isinstance(s, Float32) for s in rest))
    if sum(_width(p) for p in parts) != len(names):
        raise NotCompilable("the compiled parts do not add up to the output columns")
    return compiled
