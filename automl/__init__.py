"""automl: plugin-based AutoML for tabular data."""

from automl.hookspecs import hookimpl
from automl.spec import BuildContext, Fidelity, ModelSpec
from automl.data.task import Task

__version__ = "0.1.0"

__all__ = [
    "AutoML", "BuildContext", "Fidelity", "MetricSpec", "ModelSpec", "Serializer", "Task", "TrialInfo", "decode_plain",
    "encode_plain", "hookimpl", "__version__",
]

# Imported on first use: keep `import automl` light (these pull in optuna, sklearn and numpy).
_LAZY = {
    "AutoML": "automl.estimator", "MetricSpec": "automl.metrics", "TrialInfo": "automl.trial",
    "Serializer": "automl.serializer", "encode_plain": "automl.serializer", "decode_plain": "automl.serializer",
}


def __getattr__(name):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'automl' has no attribute {name!r}")
