"""Exceptions raised by automl, each with a message that says what to do."""


class AutoMLError(Exception):
    """Base class of every error automl raises on purpose."""


class DataError(AutoMLError, ValueError):
    """The data handed to ``fit``/``predict`` cannot be used as it is."""


class PluginError(AutoMLError):
    """A plugin or model specification is invalid."""


class NotFittedError(AutoMLError, AttributeError):
    """The AutoML object is used before ``fit``."""


class SearchError(AutoMLError, RuntimeError):
    """The search produced no usable model."""


class ModelFileError(AutoMLError):
    """A model file cannot be written or read: not a model, damaged, tampered with, too new or too old."""


class UntrustedTypeError(ModelFileError):
    """A model file holds types that are not trusted; nothing in it was run."""
