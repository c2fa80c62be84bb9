"""What the commands print: results on stdout, notes on stderr, and one-line usage errors."""

from __future__ import annotations

import sys

from automl.cli.parser import UsageError
from automl.data.inputs import closest_names


def emit(text: str) -> None:
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()


def note(text: str) -> None:
    """A status line on stderr (not a result)."""
    sys.stderr.write(f"[automl] {text}\n")


def column_error(what: str, name: str, columns, source: str) -> UsageError:
    columns = [str(c) for c in columns]
    close = closest_names(name, columns)
    if close:
        hint = f"; did you mean {' or '.join(map(repr, close))}?"
    else:
        shown = ", ".join(map(repr, columns[:15])) + (", ..." if len(columns) > 15 else "")
        hint = f"; its columns are {shown}"
    return UsageError(f"{what} {name!r} is not a column of {source}{hint}")
