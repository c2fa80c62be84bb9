"""A search kept in Optuna's storage: it survives a crash, refuses other data, never
trains a configuration twice, and lets workers in other processes share it.

The processes are real (``subprocess``, SIGKILL); the storage is a SQLite file here, and
the same test runs on PostgreSQL in ``test_postgres_workers.py``.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from automl.final import ensemble as ensemble_module
from automl import AutoML, datasets
from automl.exceptions import DataError
from automl.search import store
from automl.search.record import TrialRecord
from automl.trial import SKIPPED

State = optuna.trial.TrialState
pytestmark = pytest.mark.slow


@pytest.fixture
def fast_heartbeat(monkeypatch):
    """A dead process's trial counts as stale after 2 s (15 s by default)."""
    monkeypatch.setattr(store, "HEARTBEAT_SECONDS", 1)
    monkeypatch.setattr(store, "GRACE_SECONDS", 2)


def titanic():
    d = datasets.load("titanic")
    return d.frame, d.target


def records(url: str, name: str) -> list[TrialRecord]:
    study = optuna.load_study(study_name=name, storage=url)
    return [TrialRecord.from_trial(t) for t in study.get_trials(deepcopy=False)]


def records_if_any(url: str, name: str) -> list[TrialRecord]:
    """``records``, or none while the study (or its database) does not exist yet."""
    try:
        return records(url, name)
    except Exception:  # noqa: BLE001 - not created yet
        return []


def heartbeating(db: Path) -> list[int]:
    """The running trials of a SQLite study that have recorded a heartbeat (Optuna's own tables)."""
    with contextlib.closing(sqlite3.connect(db)) as con:
        return [n for (n,) in con.execute("SELECT t.number FROM trials t JOIN trial_heartbeats h "
                                           "ON h.trial_id = t.trial_id WHERE t.state = 'RUNNING'")]


def trained_twice(recs: list[TrialRecord]) -> list[str]:
    """Configurations that ran to the end (or to a prune) in two trials."""
    seen: dict[str, int] = {}
    twice = []
    for r in recs:
        if r.state in (State.COMPLETE, State.PRUNED) and r.status != SKIPPED:
            key = f"{r.model} {json.dumps(r.params, sort_keys=True)}"
            if key in seen:
                twice.append(f"{key}: trials {seen[key]} and {r.number}")
            seen[key] = r.number
    return twice


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def automl_cli(log: Path, *args: str) -> subprocess.Popen:
    """``automl ARGS`` in a process of its own; stdout and stderr go to ``log``(.out/.err)."""
    out, err = open(f"{log}.out", "w"), open(f"{log}.err", "w")
    return subprocess.Popen([sys.executable, "-m", "automl", *args], stdout=out, stderr=err,
                            env={**os.environ, "PYTHONWARNINGS": "ignore"})


def test_a_killed_fit_resumes_from_its_finished_trials(tmp_path, fast_heartbeat):
    frame, target = titanic()
    data = tmp_path / "titanic.csv"
    frame.to_csv(data, index=False)
    url, name = f"sqlite:///{tmp_path / 's.db'}", "s"
    first = automl_cli(tmp_path / "fit", "fit", str(data), "--target", target, "--time", "120", "--storage", url, "--study-name", name,
                       "--jobs", "1", "--out", str(tmp_path / "m.automl"))
    try:
        def four_finished_and_one_running() -> bool:
            # running with a heartbeat: Optuna never declares stale a trial that died before its first one
            states = [r.state for r in records_if_any(url, name)]
            return states.count(State.COMPLETE) >= 4 and bool(heartbeating(tmp_path / "s.db"))

        wait_for(four_finished_and_one_running, 90, "4 finished trials and a running one")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    before = records(url, name)
    done_before = {r.number for r in before if r.state == State.COMPLETE}
    time.sleep(2.5)  # the killed trial's heartbeat is stale now

    aml = AutoML(time_budget=20, storage=url, study_name=name, n_jobs=1, verbose=0).fit(frame, target)

    after = records(url, name)
    assert done_before <= {r.number for r in after if r.state == State.COMPLETE}, "finished trials stay finished"
    assert not [r.number for r in after if r.state == State.RUNNING], "the killed trial is failed, not left running"
    assert trained_twice(after) == []
    assert len({r.worker for r in after if r.worker}) == 2
    # the first process stored its finished trials' OOF predictions, and the final model was chosen among
    # all finished trials: an old trial that ranks among the candidates (each model's best, then its second; 8 at 20 s)
    # had its OOF predictions read from the store
    assert all(r.oof for r in before if r.number in done_before)
    ok = aml.leaderboard().query("status == 'ok'").sort_values(["score", "trial"], ascending=[False, True])
    ok = ok.assign(rank=ok.groupby("model", sort=False).cumcount()).query(f"rank < {ensemble_module.PER_FAMILY}")
    pool = set(ok.sort_values("rank", kind="stable").head(ensemble_module.max_candidates(20))["trial"])
    assert pool & done_before <= set(aml.oof_predictions_)
    assert set(aml.leaderboard()["trial"]) >= done_before


def test_joining_with_other_data_or_settings_is_refused(tmp_path):
    frame, target = titanic()
    url = f"sqlite:///{tmp_path / 's.db'}"
    AutoML(time_budget=None, n_trials=2, models=["logistic_regression"], storage=url, study_name="s",
           verbose=0).fit(frame, target)
    with pytest.raises(DataError, match=r"other settings \(seed=0 there, 1 here\)"):
        AutoML(n_trials=1, models=["logistic_regression"], storage=url, study_name="s", seed=1,
               verbose=0).fit(frame, target)
    with pytest.raises(DataError, match=r"models=\['logistic_regression'\] there, \['decision_tree'\] here"):
        AutoML(n_trials=1, models=["decision_tree"], storage=url, study_name="s", verbose=0).fit(frame, target)
    changed = frame.copy()
    changed.loc[0, "Age"] = 99.0
    with pytest.raises(DataError, match=r"other data \(the feature values differ\)"):
        AutoML(n_trials=1, models=["logistic_regression"], storage=url, study_name="s",
               verbose=0).fit(changed, target)
    with pytest.raises(DataError, match="searched on 891 rows, this data has 890"):
        AutoML(n_trials=1, models=["logistic_regression"], storage=url, study_name="s",
               verbose=0).fit(frame.iloc[1:], target)


def test_a_configuration_that_ran_is_not_trained_again(tmp_path):
    frame, target = titanic()
    url = f"sqlite:///{tmp_path / 's.db'}"
    first = AutoML(time_budget=None, n_trials=3, models=["knn"], storage=url, study_name="s", verbose=0)
    first.fit(frame, target)
    study = optuna.load_study(study_name="s", storage=url)
    done = study.get_trials(states=(State.COMPLETE,))[0]
    study.enqueue_trial(done.params, user_attrs={"default_config": done.user_attrs.get("default_config")})
    AutoML(time_budget=None, n_trials=1, models=["knn"], storage=url, study_name="s", verbose=0).fit(frame, target)
    twin = TrialRecord.from_trial(optuna.load_study(study_name="s", storage=url).trials[-1])
    assert twin.status == SKIPPED and f"the same configuration as trial {done.number}" in twin.error


def test_workers_share_the_study_and_the_fit_ensembles_their_trials(tmp_path):
    run_workers(tmp_path, f"sqlite:///{tmp_path / 's.db'}", tmp_path / "artifacts")


def run_workers(tmp_path: Path, url: str, artifacts: Path, name: str = "shared") -> None:
    """A fit (this process) and two ``automl worker`` processes on one study; one worker is
    killed mid-trial. Shared by the SQLite and the PostgreSQL tests."""
    frame, target = titanic()
    data = tmp_path / "titanic.csv"
    frame.to_csv(data, index=False)
    args = ["--target", target, "--storage", url, "--study-name", name, "--artifacts", str(artifacts), "--jobs", "1"]
    # The first worker creates the study; the others join it.
    workers = [automl_cli(tmp_path / "worker0", "worker", str(data), *args, "--time", "60")]
    wait_for(lambda: any(r.state == State.COMPLETE for r in records_if_any(url, name)), 60, "the first worker's study")
    workers.append(automl_cli(tmp_path / "worker1", "worker", str(data), *args, "--time", "60"))
    victim = workers[1]

    def finished_one_and_runs_another() -> bool:
        states = {r.state for r in records(url, name) if r.worker.endswith(f":{victim.pid}")}
        return {State.COMPLETE, State.RUNNING} <= states

    wait_for(finished_one_and_runs_another, 90, "a finished and a running trial of the second worker")
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    killed_at = len(records(url, name))

    aml = AutoML(time_budget=25, storage=url, study_name=name, artifacts=artifacts, n_jobs=1, verbose=0)
    aml.fit(frame, target)
    assert workers[0].wait(timeout=60) == 0, (tmp_path / "worker0.err").read_text()[-2000:]
    assert "ran" in (tmp_path / "worker0.out").read_text()

    recs = records(url, name)
    by_worker = {r.worker for r in recs if r.state == State.COMPLETE}
    assert len(by_worker) >= 3, f"trials of the fit and both workers, got {by_worker}"
    assert len(recs) > killed_at, "the study went on after a worker was killed"
    assert trained_twice(recs) == []
    assert not [r.number for r in recs if r.state == State.RUNNING]
    workers_of = {r.number: r.worker for r in recs}
    assert len({workers_of[n] for n in aml.oof_predictions_}) >= 2, "ensemble candidates from several processes"
    assert set(aml.leaderboard()["worker"]) >= by_worker
