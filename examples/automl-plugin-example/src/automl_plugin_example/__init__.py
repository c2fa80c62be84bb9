"""An example automl plugin: two models, a metric and a trial observer (see README.md)."""

__version__ = "0.1.0"
