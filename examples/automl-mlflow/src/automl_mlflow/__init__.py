"""Log automl searches to MLflow (see README.md): one run per fit, a child run per trial.

Either set ``MLFLOW_TRACKING_URI`` (the installed entry point then logs every fit) and call
``log_final(aml)`` after ``fit``, or pass a tracker: ``AutoML(plugins=[MLflowTracker(uri)])``
and ``tracker.log_final(aml)``.
"""

from __future__ import annotations

from automl_mlflow.plugin import default_tracker
from automl_mlflow.tracker import MLflowTracker

__version__ = "0.1.0"
__all__ = ["MLflowTracker", "log_final"]


def log_final(aml, X=None, y=None) -> str:
    """``MLflowTracker.log_final`` for the tracker of ``MLFLOW_TRACKING_URI`` (the entry point's)."""
    tracker = default_tracker()
    if tracker is None:
        raise RuntimeError("MLFLOW_TRACKING_URI is not set, so no fit was logged; set it before fit, "
                           "or pass AutoML(plugins=[MLflowTracker(uri)]) and call its log_final.")
    return tracker.log_final(aml, X, y)
