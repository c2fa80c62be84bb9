"""Log to stderr while ``fit`` runs, unless the application configured logging itself."""

from __future__ import annotations

import contextlib
import logging
import sys

LOGGER = logging.getLogger("automl")


@contextlib.contextmanager
def fit_logging(verbose: int):
    if verbose <= 0 or LOGGER.handlers or logging.getLogger().handlers:
        yield
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[automl] %(message)s"))
    level = LOGGER.level
    LOGGER.addHandler(handler)
    LOGGER.setLevel(logging.INFO if verbose == 1 else logging.DEBUG)
    try:
        yield
    finally:
        LOGGER.removeHandler(handler)
        LOGGER.setLevel(level)
