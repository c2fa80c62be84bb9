"""The plugin contract suite: run it from a plugin's own tests.

A class to subclass (pytest collects it under your ``Test...`` name)::

    from automl.testing import PluginContract
    from my_package import my_models

    class TestMyModels(PluginContract):
        plugins = [my_models]          # modules or objects with hook functions
        # specs = [MY_SPEC]            # or ModelSpec / MetricSpec objects directly
        # metrics = [MY_METRIC]

or cases to parametrize a test with::

    import pytest
    from automl.testing import contract_cases

    @pytest.mark.parametrize("case", contract_cases(plugins=[my_models]), ids=str)
    def test_contract(case):
        case()

What it checks, per model spec and declared task (``checks.py`` has one function per
rule, each usable on its own): the search space is deterministic for a fixed trial,
stays in its namespace and never suggests the fidelity parameter; the fidelity
parameter is an estimator parameter with a sensible range; built estimators survive
``clone``; every default configuration fits and predicts on tiny data through the
core's preprocessing; ``predict_proba`` rows sum to 1 in ``classes_`` order; a pickle
round trip and a model file round trip (no pickle; the types the plugin declares
through ``automl_register_types``) predict identically; a ``warm_start`` model trains on
from its lowest fidelity to the full resource; a ``stops_in_time`` model fits with no time
left; the ``handles_missing`` / ``handles_categorical`` /
``needs_scaling`` flags are honest. Per plugin: its hooks register as the core
registers them and return what they must. Per metric: it scores perfect predictions
above a constant one. The project runs this suite over every built-in plugin.
"""

from automl.testing.checks import (
    check_clone,
    check_fidelity,
    check_fit_predict,
    check_flags,
    check_metric,
    check_pickle,
    check_plugin,
    check_predict_proba,
    check_safe_format,
    check_search_space,
    check_stops_in_time,
    check_warm_start,
)
from automl.testing.contract import MODEL_CHECKS, Case, PluginContract, contract_cases
from automl.testing.data import N_ROWS, at_low_fidelity, fit_pipeline, make_data, sample_params

__all__ = [
    "Case", "MODEL_CHECKS", "N_ROWS", "PluginContract", "at_low_fidelity", "check_clone", "check_fidelity",
    "check_fit_predict", "check_flags", "check_metric", "check_pickle", "check_plugin", "check_predict_proba",
    "check_safe_format", "check_search_space", "check_stops_in_time", "check_warm_start", "contract_cases",
    "fit_pipeline", "make_data", "sample_params",
]
