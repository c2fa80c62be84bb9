"""Small real datasets bundled with automl, for examples and tests.

Copied unchanged from the project's shared benchmark suite; ``manifest.json`` beside
this file gives each one's source, licence and notes.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import pandas as pd


@dataclass(frozen=True)
class Dataset:
    name: str
    frame: pd.DataFrame
    target: str
    task: str
    source: str


def manifest() -> list[dict]:
    return json.loads(resources.files(__name__).joinpath("manifest.json").read_text())


def names() -> list[str]:
    return [d["name"] for d in manifest()]


def load(name: str) -> Dataset:
    """Load a bundled dataset by name (see :func:`names`)."""
    entries = {d["name"]: d for d in manifest()}
    if name not in entries:
        raise KeyError(f"No bundled dataset {name!r}; bundled: {sorted(entries)}.")
    entry = entries[name]
    with resources.as_file(resources.files(__name__).joinpath(entry["file"])) as path:
        frame = pd.read_csv(path)
    return Dataset(name, frame, entry["target"], entry["task"], entry["source"])
