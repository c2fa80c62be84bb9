import os

# No usage reports from MLflow during the tests (the machine may have no network).
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("AUTOML_DISABLE_PLUGINS", "")
