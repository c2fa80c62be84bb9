"""Small scikit-learn transformers the preprocessing is built from.

Each takes and returns a pandas DataFrame, so that native categorical dtypes reach
the boosting models and column names survive.
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils.validation import check_is_fitted

from automl.data.text import as_text, text_series

_PARTS = ("year", "month", "day", "day_of_week", "day_of_year", "hour")


def _to_datetime(s: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        out = s
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = pd.to_datetime(s, errors="coerce", format="mixed")
    if getattr(out.dt, "tz", None) is not None:
        out = out.dt.tz_convert("UTC").dt.tz_localize(None)
    return out


class DatetimeFeatures(TransformerMixin, BaseEstimator):
    """Expand date/time columns into numeric parts (year, month, day, weekday,
    day of year, hour when times vary) plus days since 1970. Missing stays NaN."""

    def fit(self, X, y=None):
        X = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.parts_ = {}
        for col in X.columns:
            d = _to_datetime(X[col])
            parts = [p for p in _PARTS if p != "hour" or d.dt.hour.nunique() > 1]
            self.parts_[col] = parts
        return self

    def transform(self, X):
        check_is_fitted(self, "parts_")
        X = pd.DataFrame(X)
        out = {}
        for col, parts in self.parts_.items():
            d = _to_datetime(X[col])
            for p in parts:
                out[f"{col}_{p}"] = getattr(d.dt, p).astype("float64")
            out[f"{col}_days"] = (d - pd.Timestamp("1970-01-01")).dt.total_seconds() / 86400.0
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "parts_")
        return np.asarray(
            [f"{c}_{p}" for c, parts in self.parts_.items() for p in (*parts, "days")], dtype=object
        )


class NativeCategorical(TransformerMixin, BaseEstimator):
    """Turn columns into pandas ``category`` dtype with the levels seen in ``fit``.

    Unseen levels and missing values become missing; the boosting models read the
    dtype and split on the categories natively."""

    def fit(self, X, y=None):
        X = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.categories_ = {c: sorted(set(text_series(X[c]).dropna())) for c in X.columns}
        return self

    def transform(self, X):
        check_is_fitted(self, "categories_")
        X = pd.DataFrame(X)
        out = {}
        for c, cats in self.categories_.items():
            text = text_series(X[c])
            out[c] = pd.Categorical(text.where(text.isin(cats), None), categories=cats)
        return pd.DataFrame(out, index=X.index)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "categories_")
        return np.asarray(list(self.categories_), dtype=object)


#: Numbers are clipped to +-1e30: the tree models compute in float32 (1e300 becomes inf
#: there, and they refuse it; scikit-learn's trees also sum a column in float32 to check it,
#: which overflows near float32's 3.4e38), and the scaler squares values (1e307**2 overflows).
CLIP = 1e30


def to_number(s: pd.Series) -> pd.Series:
    """A column as numbers (durations in seconds; NaN where a value is not a number)."""
    if pd.api.types.is_timedelta64_dtype(s.dtype):
        return s.dt.total_seconds()
    return pd.to_numeric(s, errors="coerce")


class AsFloat(TransformerMixin, BaseEstimator):
    """Cast numeric and boolean columns (nullable and pyarrow dtypes too) to float64,
    missing as NaN, clipped to +-``CLIP``; ``dtype="float32"`` halves the memory (the
    search's folds of large data, for models that split on float32 anyway)."""

    def __init__(self, dtype: str = "float64"):
        self.dtype = dtype

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(pd.DataFrame(X).columns, dtype=object)
        return self

    def transform(self, X):
        X = pd.DataFrame(X)
        values = np.empty(X.shape, dtype=self.dtype)
        plain = np.array([isinstance(d, np.dtype) and d.kind in "biuf" for d in X.dtypes], dtype=bool)
        if plain.any():  # numpy numbers and booleans: one block (wide frames have thousands of columns)
            values[:, plain] = X.iloc[:, np.flatnonzero(plain)].to_numpy(dtype="float64")
        for i in np.flatnonzero(~plain):
            values[:, i] = to_number(X.iloc[:, i]).to_numpy(dtype="float64", na_value=np.nan)
        np.clip(values, -CLIP, CLIP, out=values)
        return pd.DataFrame(values, columns=X.columns, index=X.index)

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_


class Float32(TransformerMixin, BaseEstimator):
    """float64 columns as float32, the others as they are (the last step of the search's
    preprocessing on large data: half the memory of every float column)."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(pd.DataFrame(X).columns, dtype=object)
        return self

    def transform(self, X):
        X = pd.DataFrame(X)
        wide = {c: np.float32 for c, d in X.dtypes.items() if d == np.float64}
        return X.astype(wide) if wide else X

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_


class AsText(TransformerMixin, BaseEstimator):
    """Categorical columns as Python strings with NaN for missing (see :func:`as_text`),
    in front of the one-hot and target encoders."""

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(pd.DataFrame(X).columns, dtype=object)
        return self

    def transform(self, X):
        X = pd.DataFrame(X)
        return pd.DataFrame({c: as_text(X[c]) for c in X.columns}, index=X.index, columns=X.columns)

    def get_feature_names_out(self, input_features=None):
        return self.feature_names_in_


class TextFeatures(TransformerMixin, BaseEstimator):
    """TF-IDF of one free-text column, dense, at most ``max_features`` terms."""

    def __init__(self, max_features: int = 50):
        self.max_features = max_features

    def fit(self, X, y=None):
        X = pd.DataFrame(X)
        self.column_ = X.columns[0]
        self.vectorizer_ = TfidfVectorizer(max_features=self.max_features, min_df=2, dtype=np.float32)
        try:
            self.vectorizer_.fit(self._docs(X))
            self.terms_ = list(self.vectorizer_.get_feature_names_out())
        except ValueError:  # every document empty or every term too rare
            self.vectorizer_, self.terms_ = None, []
        return self

    def _docs(self, X):
        return text_series(X.iloc[:, 0]).fillna("")

    def transform(self, X):
        check_is_fitted(self, "terms_")
        X = pd.DataFrame(X)
        names = self.get_feature_names_out()
        if self.vectorizer_ is None:
            return pd.DataFrame(index=X.index)
        mat = self.vectorizer_.transform(self._docs(X)).toarray()
        return pd.DataFrame(mat, columns=names, index=X.index)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "terms_")
        return np.asarray([f"{self.column_}__{t}" for t in self.terms_], dtype=object)


def column_text(values) -> np.ndarray:
    """:func:`as_text` of a Series or of a column's 1-D array (as the fast path holds it)."""
    return as_text(values if isinstance(values, pd.Series) else pd.Series(values, copy=False))


#: Joins the two values of a pair of categorical columns (:class:`CategoryPairs`).
PAIR_SEP = "\x1f"


def pair_text(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Two text columns (:func:`as_text`'s arrays) joined value by value with ``PAIR_SEP``;
    missing (NaN) where either is."""
    missing = pd.isna(a) | pd.isna(b)
    out = np.where(missing, "", a).astype(object) + PAIR_SEP + np.where(missing, "", b).astype(object)
    out[missing] = np.nan
    return out


class CategoryPairs(TransformerMixin, BaseEstimator):
    """Each pair of categorical columns in ``pairs`` as one text column (``"a__x__b"``, the
    two values joined by :func:`pair_text`), in front of a target encoder: the interaction
    features of the boosting models' target encoding."""

    def __init__(self, pairs: tuple = ()):
        self.pairs = pairs

    def fit(self, X, y=None):
        self.feature_names_in_ = np.asarray(pd.DataFrame(X).columns, dtype=object)
        self.names_ = np.asarray([f"{a}__x__{b}" for a, b in self.pairs], dtype=object)
        return self

    def text(self, columns) -> dict:
        """The pair columns (name -> text array) from ``columns`` (name -> values)."""
        check_is_fitted(self, "names_")
        text = {c: column_text(columns[c]) for pair in self.pairs for c in pair}
        return {n: pair_text(text[a], text[b]) for n, (a, b) in zip(self.names_, self.pairs)}

    def transform(self, X):
        X = pd.DataFrame(X)
        return pd.DataFrame(self.text({c: X[c] for c in X.columns}), index=X.index, columns=self.names_)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "names_")
        return self.names_


class SafeNames(TransformerMixin, BaseEstimator):
    """Rename columns to ``[A-Za-z0-9_]`` (LightGBM and XGBoost reject some characters),
    keeping them unique."""

    def fit(self, X, y=None):
        X = pd.DataFrame(X)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        seen: dict[str, int] = {}
        names = []
        for c in X.columns:
            base = re.sub(r"[^0-9A-Za-z_]", "_", str(c)) or "col"
            k = seen.get(base, 0)
            seen[base] = k + 1
            names.append(base if k == 0 else f"{base}_{k}")
        self.names_ = names
        return self

    def transform(self, X):
        check_is_fitted(self, "names_")
        return pd.DataFrame(X).set_axis(self.names_, axis=1)  # a new frame; no copy of the data (copy-on-write)

    def get_feature_names_out(self, input_features=None):
        check_is_fitted(self, "names_")
        return np.asarray(self.names_, dtype=object)
