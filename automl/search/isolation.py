"""Where a trial's folds train: in this process, or in a worker process that can be
stopped (``AutoML(isolation=...)``).

A model's fit is native code more often than not; nothing in this process can stop it
when it hangs, and a fit that allocates more memory than the machine has takes the whole
fit down. A worker process (``isolation_child.py``) can be killed at a deadline and capped
in memory, so the trials that may misbehave run there:

- ``"auto"`` (default): the third-party plugins' models in the worker, the built-in ones
  (tested with every release) here, where they cost nothing extra;
- ``"process"``: every model in the worker; ``"none"``: every model here.

The worker is started once per search, in the background (with ``"process"`` at the top of
``fit``, before the data is checked; with ``"auto"`` when a third-party model is chosen),
and the search process prepares the first isolated trials' folds while it imports. It
gets the training data once: each fold's prepared rows and each model spec are sent the
first time a trial needs them, not per trial. Per fold it receives the parameters and
sends back the fitted model and its validation scores. A fold there is stopped

- at the search's deadline (the budget ran out: ``OutOfTime``, the trial is "stopped" as
  in this process),
- when the trial has trained longer than ``trial_time_limit`` (``TrialTimeLimit``),
- when it allocates past ``memory_limit`` (``MemoryLimitExceeded``), or when the worker
  dies (``WorkerDied``);

the last three are failures of the model, counted towards skipping its family. A killed
worker is started again for the next isolated trial.
"""

from __future__ import annotations

import logging
import os
import pickle
import socket
import subprocess
import sys
import time
import weakref
from dataclasses import dataclass
from typing import Callable
from multiprocessing.connection import Connection

import numpy as np
from sklearn.pipeline import Pipeline

from automl.preprocessing.pipeline import at_fidelity, can_continue, continue_training, predict_scores
from automl.search.memory import human
from automl.search.prepared import kind
from automl.search.threads import fit_threads
from automl.spec import ModelSpec

log = logging.getLogger(__name__)

ISOLATIONS = ("auto", "process", "none")
#: Module prefixes of the built-in models (the ``automl_plugins`` distribution).
BUILTIN_MODULES = ("automl_plugins", "automl")
#: Seconds the worker may take to start before the search gives up on it.
START_SECONDS = 60.0
#: Large data: a booster stops early on at most this many of the validation rows, or on as
#: many as it trains on when more (a seeded sample; the rung is still scored on them all).
#: On a million rows the holdout has 360,000: scoring it at every round cost more than the
#: rounds themselves on the 4% rung (XGBoost: 7 of 11 s).
EARLY_STOP_ROWS = 20_000


def stopping_rows(n_valid: int, n_train: int) -> np.ndarray | None:
    """Positions of the validation rows a booster stops early on (None: all of them)."""
    size = max(EARLY_STOP_ROWS, n_train)
    if n_valid <= size:
        return None
    return np.sort(np.random.default_rng(n_valid).choice(n_valid, size, replace=False))


class OutOfTime(Exception):
    """The search's time ran out before the work could be done (or while it ran)."""


class SlowRung(OutOfTime):
    """A lower rung stopped at its probe limit (``Budget.probe_limit``): the configuration,
    not the budget, is the problem (the search does not count it as unaffordable)."""


class TrialTimeLimit(Exception):
    """The trial trained longer than the per-trial time limit; its worker was killed."""


class MemoryLimitExceeded(Exception):
    """The trial allocated more than the memory limit; it was stopped in its worker."""


class WorkerDied(Exception):
    """The worker process died during the trial (a crash in native code, the OOM killer)."""


def is_builtin(spec: ModelSpec) -> bool:
    module = getattr(spec.build, "__module__", None) or ""
    return module.split(".")[0] in BUILTIN_MODULES


def isolated(spec: ModelSpec, isolation: str) -> bool:
    """Whether ``spec``'s trials run in the worker process under ``isolation``."""
    return isolation == "process" or (isolation == "auto" and not is_builtin(spec))


class Worker:
    """The search's end of one worker process; started on first use, again after a kill."""

    def __init__(self):
        self.proc: subprocess.Popen | None = None
        self.conn: Connection | None = None
        self.sent: set = set()  # ("spec", name) and ("fold", key) the worker holds
        self.ready = False
        self.generation = 0  # how many times a worker process was started
        self._finalizer = None

    def start(self) -> None:
        if self.proc is not None:
            return
        mine, theirs = socket.socketpair()
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "automl.search.isolation_child", str(theirs.fileno())],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env, start_new_session=False,
        )
        theirs.close()
        self.conn = Connection(mine.detach())
        self.sent, self.ready = set(), False
        self.generation += 1
        self._finalizer = weakref.finalize(self, _kill, self.proc)
        self.conn.send_bytes(pickle.dumps(("init", list(sys.path))))

    def _wait_ready(self, until: float) -> None:
        if self.ready:
            return
        self._answer(until, OutOfTime("the search's time ran out while its worker process started"), None)
        self.ready = True

    def kill(self) -> None:
        if self.proc is not None:
            _kill(self.proc)
            if self._finalizer is not None:
                self._finalizer.detach()
        if self.conn is not None:
            self.conn.close()
        self.proc, self.conn, self.sent, self.ready = None, None, set(), False

    close = kill

    def _answer(self, until: float, on_timeout: Exception, started: float | None):
        """The worker's answer to the last request, waiting until the monotonic time
        ``until`` at most (then the worker is killed and ``on_timeout`` raised)."""
        try:
            while True:
                left = until - time.monotonic()
                if self.conn.poll(max(0.0, min(left, 0.5))):
                    try:
                        status, payload = pickle.loads(self.conn.recv_bytes())
                    except (EOFError, OSError):
                        raise self._died(started) from None
                    break
                if self.proc.poll() is not None:
                    raise self._died(started)
                if left <= 0:
                    self.kill()
                    raise on_timeout
        except BaseException:
            self.kill()  # a Ctrl-C, a timeout: the worker's state is unknown, start afresh
            raise
        if status == "ok":
            return payload
        if status == "memory":
            raise MemoryLimitExceeded(payload)
        raise _PluginError(payload)

    def _died(self, started: float | None) -> WorkerDied:
        code = self.proc.wait()
        self.kill()
        why = f"killed by signal {-code}" if code < 0 else f"exit status {code}"
        if code == -9:
            why += ", perhaps by the system for lack of memory"
        after = f" after {time.monotonic() - started:.1f} s" if started is not None else ""
        return WorkerDied(f"the worker process died{after} ({why})")

    def request(self, message: tuple, until: float, on_timeout: Exception, started: float | None = None):
        import cloudpickle

        try:
            payload = cloudpickle.dumps(message)
        except Exception as exc:
            raise TypeError(f"cannot be sent to the worker process ({type(exc).__name__}: {exc}); isolation='none' "
                            "trains this model in the fitting process") from None
        self.start()
        self._wait_ready(until)
        self.conn.send_bytes(payload)
        return self._answer(until, on_timeout, started)


class _PluginError(Exception):
    """A model's own exception in the worker, as "Type: message" (re-raised under that text)."""

    def __str__(self) -> str:
        return str(self.args[0]).partition(": ")[2]

    @property
    def type_name(self) -> str:
        return str(self.args[0]).partition(": ")[0]


def _kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


class Trainer:
    """Trains one fold of a trial, here or in the worker (see the module docstring)."""

    def __init__(self, isolation: str = "auto", memory_limit: int | None = None,
                 trial_time_limit: float | None = None):
        if isolation not in ISOLATIONS:
            raise ValueError(f"isolation must be one of {', '.join(ISOLATIONS)}, got {isolation!r}.")
        if os.name != "posix" and isolation != "none":
            log.warning("Trials cannot run in a worker process on this system (%s): isolation=%r is ignored.",
                        sys.platform, isolation)
            isolation = "none"
        self.isolation = isolation
        self.memory_limit = memory_limit
        self.trial_time_limit = trial_time_limit
        self.worker = Worker()
        self._trial = None
        self._used = 0.0  # seconds the current trial has trained in the worker

    def isolated(self, spec: ModelSpec) -> bool:
        return isolated(spec, self.isolation)

    def start(self, specs=None) -> None:
        """Start the worker in the background when some of ``specs`` will need it (None:
        before the models are known, when every model will: ``isolation="process"``)."""
        if self.isolation == "process" or (specs is not None and any(self.isolated(s) for s in specs)):
            self.worker.start()

    def warm_up(self, tasks) -> int:
        """Run ``tasks`` (callables: work this process needs soon anyway, each returning
        False when the rest is not worth doing) while the worker process starts, whose
        imports take a second or two that the first isolated trial would otherwise wait
        out. Stops as soon as the worker is ready. Returns how many ran."""
        w = self.worker
        if w.proc is None or w.ready:
            return 0
        ran = 0
        for task in tasks:
            if w.conn.poll(0):  # ready (or dead: the first request finds out)
                break
            ran += 1
            if task() is False:
                break
        return ran

    def close(self) -> None:
        self.worker.close()

    def fit_fold(self, spec: ModelSpec, trial: int, fold: int, prepared, positions, y_fold, params: dict,
                 resource, ctx, previous, threads: int, n_classes: int, search_left: Callable[[], float],
                 y_valid=None, valid_rows=None):
        """Fit ``spec`` on the fold's training rows at ``positions`` (continuing
        ``previous``, the fold's model at the rung below, when it can) and score its
        validation rows (those at ``valid_rows``, when given). Returns ``(model, scores)``.
        ``search_left()``: the seconds the search may still use (read only for the worker,
        which is stopped then). With ``y_valid`` (the validation rows' target) a model of
        this process stops early on the validation rows (``spec.early_stop``)."""
        if not self.isolated(spec):
            cont = previous is not None and can_continue(spec, previous)
            with fit_threads(threads):
                X = prepared.rows(positions)
                if cont:
                    model = continue_training(spec, previous, X, y_fold, resource, ctx)
                elif y_valid is not None and spec.early_stop is not None:
                    stop = stopping_rows(len(y_valid), len(X))
                    X_stop, y_stop = (prepared.valid, y_valid) if stop is None else (prepared.valid.iloc[stop],
                                                                                   y_valid[stop])
                    model = spec.early_stop(spec.build(at_fidelity(spec, params, resource), ctx), X, y_fold,
                                            X_stop, y_stop, ctx)
                else:
                    model = spec.build(at_fidelity(spec, params, resource), ctx).fit(X, y_fold)
            valid = prepared.valid if valid_rows is None else prepared.valid.iloc[valid_rows]
            with fit_threads(threads):  # the fit may have left the warning filters broken: restored
                return model, predict_scores(model, valid, n_classes)
        model, scores = self._fit_in_worker(spec, trial, fold, prepared, positions, y_fold, params, resource, ctx,
                                            previous, threads, n_classes, search_left)
        return model, scores if valid_rows is None else scores[valid_rows]

    def _fit_in_worker(self, spec, trial, fold, prepared, positions, y_fold, params, resource, ctx, previous,
                       threads, n_classes, search_left):
        if trial != self._trial:
            self._trial, self._used = trial, 0.0
        deadline = time.monotonic() + max(search_left(), 0.0)
        out_of_time = OutOfTime(f"the budget ran out during {spec.name}; its worker process was stopped")
        w = self.worker
        w.start()
        key = (fold, kind(spec))
        if ("spec", spec.name) not in w.sent:
            w.request(("spec", spec.name, spec), deadline, out_of_time)
            w.sent.add(("spec", spec.name))
        if ("fold", key) not in w.sent:
            w.request(("fold", key, prepared.train, prepared.valid), deadline, out_of_time)
            w.sent.add(("fold", key))
        until, on_timeout = deadline, out_of_time
        if self.trial_time_limit is not None:
            limit_at = time.monotonic() + max(self.trial_time_limit - self._used, 0.0)
            if limit_at < deadline:
                until = limit_at
                on_timeout = TrialTimeLimit(f"still training after {self.trial_time_limit:g} s, the per-trial time "
                                            f"limit (trial_time_limit); its worker process was killed")
        pos = None if positions is None or len(positions) == len(prepared.train) else np.asarray(positions)
        t0 = time.monotonic()
        try:
            handle, scores = w.request(("fit", spec.name, key, pos, np.asarray(y_fold), params, resource, ctx,
                                        previous is not None, threads, n_classes, trial, self.memory_limit),
                                       until, on_timeout, t0)
        except MemoryLimitExceeded as exc:
            limit = f"memory_limit ({human(self.memory_limit)})" if self.memory_limit else "the memory available"
            raise MemoryLimitExceeded(f"went over {limit} and was stopped in its worker process ({exc})") from None
        except _PluginError as exc:
            raise _reraise(exc) from None
        except (TrialTimeLimit, WorkerDied):
            w.start()  # the next isolated trial finds a worker started (its imports take seconds)
            raise
        finally:
            self._used += time.monotonic() - t0
        if isinstance(previous, RemoteModel) and previous.handle == handle and previous.worker == w.generation:
            return previous, scores  # trained on in place, as a warm start here would
        return RemoteModel(w.generation, trial, handle), scores

    def fetch(self, pipelines: list) -> list | None:
        """``pipelines`` (a trial's fold pipelines) with the models that stayed in the
        worker fetched from it, or None when they are gone (the worker was stopped since)."""
        remote = [p.named_steps["model"] for p in pipelines if isinstance(p.named_steps["model"], RemoteModel)]
        if not remote:
            return pipelines
        w = self.worker
        if any(r.worker != w.generation or r.trial != self._trial for r in remote) or w.proc is None:
            return None
        try:
            models = w.request(("fetch", [r.handle for r in remote]), time.monotonic() + START_SECONDS,
                               OutOfTime("the worker process did not send the models back"))
        except Exception as exc:
            log.debug("The fold models of trial %s were not fetched: %s", self._trial, exc)
            return None
        found = dict(zip([id(r) for r in remote], models))
        return [Pipeline([("prep", p.named_steps["prep"]), ("model", found.get(id(p.named_steps["model"]),
                                                                               p.named_steps["model"]))])
                for p in pipelines]


@dataclass(frozen=True, eq=False)
class RemoteModel:
    """A fold's model that stayed in the worker process (sending every model back would
    cost more than the isolation may): its handle there. ``Trainer.fetch`` gets it."""

    worker: int  # the worker's generation (a restarted worker has none of the old models)
    trial: int
    handle: int


def _reraise(exc: _PluginError) -> Exception:
    """The model's exception from the worker, as an exception whose record reads
    "Type: message" like one raised here."""
    return type(exc.type_name, (Exception,), {})(str(exc))
