"""Exceptions raised by automl, each with a message that says what to do."""

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError


class AutoMLError(Exception):
    """Base class of every error automl raises on purpose."""


class DataError(AutoMLError, ValueError):
    """The data handed to ``fit``/``predict`` cannot be used as it is."""


class DataFileError(DataError):
    """A data file cannot be read (missing, empty, compressed wrongly, not CSV or Parquet):
    a failure (CLI exit status 1), where another ``DataError`` is data to fix (status 2)."""


class DataTypeError(DataError, TypeError):
    """A value of ``X`` has a type no model can use (a dict, a list, ...)."""


class PluginError(AutoMLError):
    """A plugin or model specification is invalid."""


class NotFittedError(AutoMLError, _SklearnNotFittedError):
    """The AutoML object is used before ``fit`` (also scikit-learn's ``NotFittedError``,
    so ``check_is_fitted`` and scikit-learn's tools recognise it)."""


class SearchError(AutoMLError, RuntimeError):
    """The search produced no usable model."""


class ModelFileError(AutoMLError):
    """A model file cannot be written or read: not a model, damaged, tampered with, too new or too old."""


class UntrustedTypeError(ModelFileError):
    """A model file holds types that are not trusted; nothing in it was run."""
