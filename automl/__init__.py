"""automl: plugin-based AutoML for tabular data."""

import os

# OpenMP threads (LightGBM, HistGradientBoosting, XGBoost) busy-wait at barriers by
# default; on a machine whose cores are also busy with other work, that makes a fit many
# times slower (seen: 115 s instead of 2 s), and a fit cannot be interrupted to keep the
# time budget. Sleeping instead costs little. It takes effect when automl is imported
# before those libraries load; a value the user set wins.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from automl.hookspecs import hookimpl  # noqa: E402
from automl.spec import BuildContext, Fidelity, ModelSpec  # noqa: E402
from automl.task import Task  # noqa: E402

__version__ = "0.1.0"

__all__ = [
    "AutoML", "BuildContext", "Fidelity", "MetricSpec", "ModelSpec", "Task", "TrialInfo", "hookimpl", "__version__"
]

# Imported on first use: keep `import automl` light (these pull in optuna and sklearn).
_LAZY = {"AutoML": "automl.estimator", "MetricSpec": "automl.metrics", "TrialInfo": "automl.observers"}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
