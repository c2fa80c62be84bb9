"""The worker process of an isolated search starts in the background: the search process
prepares the first trials' folds while the worker imports its libraries (a second or two
that the first trial would otherwise wait out), and a fit that fails before its search
leaves no worker behind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from automl import AutoML
from automl.data.profile import profile_frame
from automl.data.task import Task
from automl.exceptions import DataError
from automl.registry import discover
from automl.search import isolation
from automl.search.cv import make_splits
from automl.search.isolation import Trainer
from automl.search.prepared import PreparedFolds, kind

pytestmark = pytest.mark.skipif(isolation.os.name != "posix", reason="worker processes need a POSIX system")


def _folds(max_bytes=None):
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"a": rng.normal(size=300), "c": rng.choice(["x", "y", "z"], size=300)})
    y = (X["a"] > 0).astype(int).to_numpy()
    kept = {} if max_bytes is None else {"max_bytes": max_bytes}
    return PreparedFolds(X, y, profile_frame(X, 2), Task.BINARY, make_splits(y, Task.BINARY, 3, 0), **kept)


@pytest.fixture(scope="module")
def specs():
    found = discover().specs
    return [found[n] for n in ("lightgbm", "logistic_regression", "knn", "naive_bayes")]


def test_ahead_prepares_each_kind_once_per_fold_cheapest_model_first(specs, monkeypatch):
    prepared = _folds()
    tasks = list(prepared.ahead(specs))
    kinds = {kind(s) for s in specs}
    assert len(tasks) == 3 * len(kinds)
    built = []
    real = prepared.get
    monkeypatch.setattr(prepared, "get", lambda spec, fold: built.append((kind(spec), fold)) or real(spec, fold))
    assert all(task() is True for task in tasks)
    cheapest = min(specs, key=lambda s: s.cost)
    assert built[:3] == [(kind(cheapest), 0), (kind(cheapest), 1), (kind(cheapest), 2)]
    assert len(set(built)) == len(built)
    for spec in specs:  # kept: the trials find them prepared
        assert all(real(spec, f) is real(spec, f) for f in range(3))


def test_ahead_stops_when_nothing_more_can_be_kept(specs):
    prepared = _folds(max_bytes=0)
    trainer = Trainer("process")
    trainer.start()
    try:
        assert trainer.warm_up(prepared.ahead(specs)) == 1  # the first result was not kept: the rest would be waste
    finally:
        trainer.close()


def test_the_folds_are_prepared_while_the_worker_starts_and_not_after(specs):
    prepared = _folds()
    trainer = Trainer("process")
    trainer.start()
    try:
        assert trainer.worker.proc is not None and not trainer.worker.ready
        ran = trainer.warm_up(prepared.ahead(specs))
        assert ran >= 1  # the worker takes a second to import; a fold of 200 rows a few ms
        trainer.worker._wait_ready(isolation.time.monotonic() + isolation.START_SECONDS)
        assert trainer.warm_up([lambda: pytest.fail("ran after the worker was ready")]) == 0
    finally:
        trainer.close()
    assert Trainer("none").warm_up([lambda: pytest.fail("no worker: nothing to wait for")]) == 0


def test_with_isolation_process_the_worker_starts_before_the_data_is_read(monkeypatch):
    started = []
    real = isolation.Worker.start

    def start(self):
        real(self)
        started.append(self.proc)

    monkeypatch.setattr(isolation.Worker, "start", start)
    with pytest.raises(DataError):
        AutoML(isolation="process", verbose=0).fit(pd.DataFrame({"x": [1.0, 2.0], "y": [np.nan, np.nan]}), "y")
    assert started, "the worker was not started before the data was checked"
    assert all(proc.poll() is not None for proc in started), "a failed fit left its worker process running"
    started.clear()
    with pytest.raises(DataError):
        AutoML(isolation="auto", verbose=0).fit(pd.DataFrame({"x": [1.0, 2.0], "y": [np.nan, np.nan]}), "y")
    assert not started  # "auto": started only once a third-party model is chosen
