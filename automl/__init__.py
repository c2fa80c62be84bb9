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

__all__ = ["AutoML", "BuildContext", "Fidelity", "ModelSpec", "Task", "hookimpl", "__version__"]


def __getattr__(name):  # keep `import automl` light: the estimator pulls in optuna and sklearn
    if name == "AutoML":
        from automl.estimator import AutoML

        return AutoML
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
