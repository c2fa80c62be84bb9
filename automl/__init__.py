"""automl: plugin-based AutoML for tabular data."""

from automl.hookspecs import hookimpl
from automl.spec import BuildContext, Fidelity, ModelSpec
from automl.task import Task

__version__ = "0.1.0"

__all__ = ["AutoML", "BuildContext", "Fidelity", "ModelSpec", "Task", "hookimpl", "__version__"]


def __getattr__(name):  # keep `import automl` light: the estimator pulls in optuna and sklearn
    if name == "AutoML":
        from automl.estimator import AutoML

        return AutoML
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
