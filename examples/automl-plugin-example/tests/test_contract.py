"""The automl plugin contract, run over this plugin's three modules (see automl.testing)."""

from automl.testing import PluginContract

from automl_plugin_example import metrics, models, tracking


class TestExamplePlugin(PluginContract):
    plugins = [models, metrics, tracking]
