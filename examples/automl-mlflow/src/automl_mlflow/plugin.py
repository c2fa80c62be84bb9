"""The ``mlflow_tracking`` entry point: with ``MLFLOW_TRACKING_URI`` set, every automl search
is logged to MLflow (experiment ``MLFLOW_EXPERIMENT_NAME``, else "automl"); unset, it does
nothing. ``automl_mlflow.log_final(aml)`` logs the final model to the same run.
"""

from __future__ import annotations

import os

from automl import TrialInfo, hookimpl
from automl_mlflow.tracker import DEFAULT_EXPERIMENT, MLflowTracker

_trackers: dict[tuple[str, str], MLflowTracker] = {}


def default_tracker() -> MLflowTracker | None:
    """The tracker of the environment's MLflow settings, or None when ``MLFLOW_TRACKING_URI`` is unset."""
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if not uri:
        return None
    key = (uri, os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT)
    if key not in _trackers:
        _trackers[key] = MLflowTracker(*key)
    return _trackers[key]


@hookimpl
def automl_trial_finished(trial: TrialInfo) -> None:
    tracker = default_tracker()
    if tracker is not None:
        tracker.automl_trial_finished(trial)
