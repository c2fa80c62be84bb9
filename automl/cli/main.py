"""The ``automl`` command: argument parsing, dispatch and error handling.

``main(argv) -> int`` never raises for expected problems: it prints one line on stderr
and returns 2 for a usage error (bad option value, unknown column or model name) or data
that cannot be used as it is (a ``DataError``: inf values, a one-row class, a column the
model needs, ...), or 1 for a failure (unreadable file, a file that is not a model, a
failed fit). ``--debug`` adds the traceback. Results go to stdout, logs and progress to
stderr. The command handlers live in :mod:`automl.cli.commands`.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback

from automl.cli.parser import UsageError, build_parser
from automl.exceptions import AutoMLError, DataError, DataFileError


# ------------------------------------------------------------------- errors --
def _describe_os_error(exc: OSError) -> str:
    if exc.filename is not None and exc.strerror:
        return f"{exc.strerror}: {exc.filename}"
    return str(exc) or type(exc).__name__


@contextlib.contextmanager
def _stderr_logging(level: int):
    """``[automl] message`` lines on stderr for the command's duration (the core's fit sees
    the handler and leaves it alone)."""
    logger = logging.getLogger("automl")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("[automl] %(message)s"))
    old_level, old_propagate = logger.level, logger.propagate
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    # SQLAlchemy (under Optuna's storage) logs a traceback when Ctrl-C lands in a query
    # ("Error closing cursor"); the interrupt is ours to report, in one line.
    quiet = logging.NullHandler()
    logging.getLogger("sqlalchemy").addHandler(quiet)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
        logger.propagate = old_propagate
        logging.getLogger("sqlalchemy").removeHandler(quiet)


def _log_level(args: argparse.Namespace) -> int:
    if getattr(args, "verbose", False):
        return logging.DEBUG
    if getattr(args, "quiet", False):
        return logging.ERROR
    return logging.INFO if args.command in ("fit", "worker") else logging.WARNING


def _error_message(exc: BaseException, prog: str, debug: bool) -> tuple[str, int]:
    """One line and the exit status for an exception raised by a command."""
    if isinstance(exc, UsageError):
        message = str(exc)
        return (message if message.startswith(prog) else f"{prog}: error: {message}"), 2
    if isinstance(exc, KeyboardInterrupt):
        return f"{prog}: interrupted", 130
    if isinstance(exc, DataError) and not isinstance(exc, DataFileError):  # data to fix, as a bad option
        return f"{prog}: {exc}", 2
    if isinstance(exc, AutoMLError):
        return f"{prog}: {exc}", 1
    if isinstance(exc, OSError):
        return f"{prog}: {_describe_os_error(exc)}", 1
    if isinstance(exc, MemoryError):
        return f"{prog}: out of memory; try a smaller file, fewer --jobs or --models", 1
    message = f"{prog}: internal error: {type(exc).__name__}: {exc}"  # a bug: still one line
    return message + ("" if debug else " (run with --debug for the traceback, and please report it)"), 1


def main(argv: list[str] | None = None) -> int:
    """Run the ``automl`` command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    if not args.command:
        build_parser().print_help(sys.stderr)
        return 2
    prog = f"automl {args.command}"
    try:
        with _stderr_logging(_log_level(args)):
            from automl.cli import (
                commands,  # imported here: pandas and the rest are not needed for --help
            )

            return int(getattr(commands, args.command)(args) or 0)
    except BrokenPipeError:  # `automl predict ... | head`: the reader left; not an error to report
        with contextlib.suppress(OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (Exception, KeyboardInterrupt) as exc:
        message, status = _error_message(exc, prog, debug)
        if debug:
            traceback.print_exception(exc, file=sys.stderr)
    print(" ".join(message.split()) if "\n" in message else message, file=sys.stderr)
    return status


if __name__ == "__main__":
    sys.exit(main())
