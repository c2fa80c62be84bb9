"""Where a search lives: Optuna's storage for the trial records, and for the trials'
out-of-fold (OOF) predictions either this process's memory or Optuna's artifact store.

* ``storage=None``: an in-memory study; the OOF predictions of the best ``KEEP_OOF``
  trials, and of each model family's best ``PER_FAMILY``, stay in RAM
  (:class:`MemoryResults`), as fast as it gets.
* a storage URL (``sqlite:///run.db``, ``postgresql+psycopg://...``): an ``RDBStorage``
  with a heartbeat, so that a trial left RUNNING by a dead process is failed and tried
  again once (``RetryHeartbeatStaleTrialCallback``); any other storage object is used
  as it is (a ``JournalStorage`` has no heartbeat).
* the OOF predictions of a stored study go to an artifact store
  (:class:`ArtifactResults`): ``artifacts=`` (a directory, e.g. one every machine
  mounts, or any Optuna ``ArtifactStore``), by default a directory beside a SQLite file
  (``run.db`` → ``run.db-artifacts/``). The trial record holds the artifact id, so any
  process that opens the study reads them. Without one (PostgreSQL with no
  ``artifacts=``) they stay in the memory of the process that ran the trial.
"""

from __future__ import annotations

import logging
import os
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.artifacts import FileSystemArtifactStore, download_artifact, upload_artifact

from automl.exceptions import DataError
from automl.search.record import TrialRecord, write
from automl.trial import MODEL_PARAM

log = logging.getLogger(__name__)

#: Out-of-fold predictions are kept for this many of the best full-fidelity trials, and
#: for each model family's ``PER_FAMILY`` best, the ensemble's candidates
#: (``final/ensemble.py``: each family's best first, then each one's second). Keeping the
#: best 20 alone let a long search's near-twins of one family push out the other families'
#: best trials: kc1 at 1 h (401 trials) had more than 20 extra trees of exactly the best score.
KEEP_OOF = 20
PER_FAMILY = 2
#: Seconds between a running trial's heartbeats, and without one before it counts as dead.
HEARTBEAT_SECONDS, GRACE_SECONDS = 5, 15
#: A trial whose process died is tried again this many times.
MAX_RETRY = 1


def open_storage(storage: Any) -> Any:
    """``storage`` as Optuna takes it: None (in memory), a URL made an ``RDBStorage`` with a
    heartbeat, or a storage object as it is."""
    if not isinstance(storage, (str, os.PathLike)):
        return storage
    url = str(storage)
    if url in ("sqlite://", "sqlite:///:memory:"):
        return url
    try:
        with warnings.catch_warnings():  # the heartbeat is "experimental" since Optuna 2.8, and works
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            retry = optuna.storages.RetryHeartbeatStaleTrialCallback(max_retry=MAX_RETRY)
            return optuna.storages.RDBStorage(url, heartbeat_interval=HEARTBEAT_SECONDS, grace_period=GRACE_SECONDS,
                                              heartbeat_stale_trial_callback=retry)
    except ImportError as exc:  # e.g. postgresql+psycopg:// without psycopg
        raise DataError(f"storage={url!r} needs a database driver: {exc} (for PostgreSQL: pip install "
                        "'automl[postgres]')") from None
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy's errors name the cause; keep one line
        raise DataError(f"storage={url!r} could not be opened: {type(exc).__name__}: "
                        f"{str(exc).splitlines()[0]}") from None


def default_artifacts(storage: Any) -> Path | None:
    """The directory beside a SQLite file (``run.db-artifacts``), or None."""
    url = storage.url if isinstance(storage, optuna.storages.RDBStorage) else storage
    if isinstance(url, str) and url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        return Path(url.removeprefix("sqlite:///") + "-artifacts")
    return None


def make_results(storage: Any, artifacts: Any, rows: np.ndarray | None = None) -> "MemoryResults | ArtifactResults":
    """The OOF store for a study in ``storage`` (see the module docstring); ``rows``: the
    validation rows, the only ones an OOF array holds values for (kept in memory alone)."""
    if artifacts is None:
        if storage is None:
            return MemoryResults(rows)
        artifacts = default_artifacts(storage)
        if artifacts is None:
            if not isinstance(storage, str) or not storage.startswith("sqlite"):
                log.warning("The trials' out-of-fold predictions stay in this process: pass artifacts= (a "
                            "directory every process can reach) so that other processes can ensemble them.")
            return MemoryResults(rows)
    if isinstance(artifacts, (str, os.PathLike)):
        Path(artifacts).mkdir(parents=True, exist_ok=True)
        artifacts = FileSystemArtifactStore(str(artifacts))
    return ArtifactResults(artifacts)


class MemoryResults:
    """The OOF predictions of the best ``KEEP_OOF`` trials of this process, in RAM.

    With a holdout only its ``rows`` hold predictions: just those are kept (a fifth of the
    array; at 1M rows, 20 binary trials kept 256 MB instead of 51 MB), and ``get`` returns
    the whole array again. With k folds every row has one: the arrays are kept as they are."""

    def __init__(self, rows: np.ndarray | None = None) -> None:
        self.arrays: dict[int, np.ndarray] = {}
        self.scores: dict[int, float] = {}
        self.families: dict[int, str | None] = {}
        self.rows = rows  # None: every row
        self._n = 0  # rows of a whole array

    def put(self, trial: optuna.Trial, score: float, oof: np.ndarray) -> None:
        self._n = len(oof)
        if self.rows is not None and len(self.rows) < len(oof):
            oof = oof[self.rows]
        number = trial.number
        self.arrays[number], self.scores[number], self.families[number] = oof, score, _family(trial)
        while len(self.arrays) > KEEP_OOF:
            kept = self._family_bests()
            spare = [n for n in self.arrays if n not in kept]
            if not spare:  # every family's best: at most PER_FAMILY x the families
                break
            # Of equal scores the latest trial goes: the final model is the first of the equals
            # (``assemble.refit_best``). Evicting the first instead left kc1's 1 h search (seed 0,
            # 401 trials) without its best trial's predictions, so without an ensemble or a
            # calibration: more than 20 trials had scored exactly the best score (an extra trees;
            # many draws of its ``max_features``, 0.1-1.0 of 21 columns, make the same model).
            worst = min(spare, key=lambda n: (self.scores[n], -n))
            del self.arrays[worst], self.scores[worst], self.families[worst]

    def _family_bests(self) -> set[int]:
        """The trials among each family's ``PER_FAMILY`` best (the first of equal scores)."""
        bests: set[int] = set()
        for family in set(self.families.values()):
            numbers = sorted((n for n, f in self.families.items() if f == family),
                             key=lambda n: (-self.scores[n], n))
            bests.update(numbers[:PER_FAMILY])
        return bests

    def has(self, record: TrialRecord) -> bool:
        return record.number in self.arrays

    def get(self, record: TrialRecord) -> np.ndarray | None:
        kept = self.arrays.get(record.number)
        if kept is None or len(kept) == self._n:
            return kept
        whole = np.full((self._n, *kept.shape[1:]), np.nan)
        whole[self.rows] = kept
        return whole


class ArtifactResults:
    """OOF predictions in an Optuna artifact store, referenced from the trial record
    (``oof``): uploaded for a trial among the study's ``KEEP_OOF`` best, or its family's
    ``PER_FAMILY`` best, when it finishes; read back by any process that builds the final
    model."""

    def __init__(self, store: Any) -> None:
        self.store = store

    def put(self, trial: optuna.Trial, score: float, oof: np.ndarray) -> None:
        complete = trial.study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        better = [t for t in complete if t.value is not None and t.value >= score]  # all processes'
        family = _family(trial)
        if len(better) >= KEEP_OOF and sum(_family(t) == family for t in better) >= PER_FAMILY:
            return
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, f"oof-{trial.number}.npy")
            np.save(path, oof, allow_pickle=False)
            artifact_id = upload_artifact(artifact_store=self.store, file_path=path, study_or_trial=trial,
                                          mimetype="application/x-npy")
        write(trial, oof=artifact_id)

    def has(self, record: TrialRecord) -> bool:
        return record.oof is not None

    def get(self, record: TrialRecord) -> np.ndarray | None:
        if record.oof is None:
            return None
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "oof.npy")
            try:
                download_artifact(artifact_store=self.store, file_path=path, artifact_id=record.oof)
            except Exception as exc:  # noqa: BLE001 - a lost artifact costs an ensemble member, not the fit
                log.warning("Out-of-fold predictions of trial %d could not be read (%s: %s); it is left "
                            "out of the ensemble.", record.number, type(exc).__name__, exc)
                return None
            return np.load(path, allow_pickle=False)


def _family(trial: Any) -> str | None:
    """The model family a trial ran (its ``model`` parameter)."""
    return getattr(trial, "params", {}).get(MODEL_PARAM)
