"""The ``automl`` command: ``parser`` (the grammar), ``commands`` (one handler per
subcommand) and ``main`` (dispatch, logging and one-line errors)."""

from automl.cli.main import main

__all__ = ["main"]
