"""A trial observer for automl: one JSON line per finished trial, as an experiment tracker would log it.

It writes only when the environment variable ``AUTOML_TRIALS_LOG`` names a file (appended to).
"""

import dataclasses
import json
import os

from automl import TrialInfo, hookimpl

ENV = "AUTOML_TRIALS_LOG"


@hookimpl
def automl_trial_finished(trial: TrialInfo) -> None:
    path = os.environ.get(ENV)
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(json.dumps(dataclasses.asdict(trial), default=str) + "\n")
