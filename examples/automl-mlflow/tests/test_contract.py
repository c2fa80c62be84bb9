from automl.testing import PluginContract

from automl_mlflow import plugin


class TestMLflowPlugin(PluginContract):
    # The entry-point module: inactive without MLFLOW_TRACKING_URI. A tracker object meets
    # the same contract in test_tracker.py (its hook writes to a tracking store).
    plugins = [plugin]
