"""The worker process of an isolated search (``isolation.py``): it trains one fold at a
time for the search process and answers with the fitted model and its validation scores.

Started as ``python -m automl.search.isolation_child FD`` (FD: its end of a socket pair),
so that no user script is imported again, as ``multiprocessing``'s spawn would. It keeps
what the search sends once (the model specs, each fold's prepared rows) and, within a
trial, each fold's model, so that a model that trains on from rung to rung continues here.

Messages are pickled tuples (the search pickles with cloudpickle: plugin specs are often
lambdas). Requests: ``("init", sys_path)``, ``("spec", name, spec)``, ``("fold", key,
train, valid)``, ``("fit", ...)`` (see :func:`_fit`). Answers: ``("ok", payload)``,
``("error", "Type: message")``, ``("memory", "Type: message")``.

It ignores Ctrl-C (the search process decides), dies with the search process (Linux:
``PR_SET_PDEATHSIG``; elsewhere a thread that watches the parent), and before each fit caps
its data segment at what it holds plus the trial's memory limit (``RLIMIT_DATA``), so that
a fit that allocates more gets a ``MemoryError`` here instead of taking the machine down.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time
import warnings

from automl.search.memory import proc_bytes


def _die_with_parent(parent: int) -> None:
    try:
        import ctypes

        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except Exception:
        pass

    def watch() -> None:
        while True:
            time.sleep(1.0)
            if os.getppid() != parent:
                os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _data_bytes() -> int | None:
    """The process's data segment now (``VmData``: what ``RLIMIT_DATA`` counts)."""
    return proc_bytes("/proc/self/status", "VmData")


class _Cap:
    """Caps the data segment at its size now plus ``limit`` bytes, for a ``with`` block."""

    def __init__(self, limit: int | None):
        self.limit = limit
        self.old = None

    def __enter__(self):
        if self.limit:
            try:
                import resource

                base = _data_bytes()
                if base is not None:
                    self.old = resource.getrlimit(resource.RLIMIT_DATA)
                    hard = self.old[1]
                    soft = base + self.limit
                    if hard != resource.RLIM_INFINITY:
                        soft = min(soft, hard)
                    resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))
            except (ImportError, ValueError, OSError):
                self.old = None
        return self

    def __exit__(self, *exc):
        if self.old is not None:
            import resource

            resource.setrlimit(resource.RLIMIT_DATA, self.old)
        return False


class _State:
    def __init__(self):
        self.specs: dict = {}
        self.folds: dict = {}
        self.models: dict = {}  # fold -> (handle, model) of the current trial, the latest rung
        self.kept: dict = {}  # handle -> model: every model of the current trial, for "fetch"
        self.trial = None
        self.handles = 0


def _fit(state: _State, name, key, positions, y_fold, params, resource, ctx, cont, threads, n_classes, trial, limit):
    """Fit a fold; answer ``(handle, scores)``: the model stays here (the search fetches
    the few it keeps), its handle is the previous rung's when it trained on in place."""
    from automl.preprocessing.pipeline import at_fidelity, can_continue, continue_training, predict_scores
    from automl.search.threads import fit_threads

    if trial != state.trial:
        state.models, state.kept, state.trial = {}, {}, trial
    spec = state.specs[name]
    train, valid = state.folds[key]
    X = train if positions is None else train.iloc[positions]
    handle, previous = state.models.get(key[0], (None, None)) if cont else (None, None)
    with _Cap(limit), fit_threads(threads):
        if previous is not None and can_continue(spec, previous):
            model = continue_training(spec, previous, X, y_fold, resource, ctx)
        else:
            model = spec.build(at_fidelity(spec, params, resource), ctx).fit(X, y_fold)
        scores = predict_scores(model, valid, n_classes)
    if model is not previous:
        state.handles += 1
        handle = state.handles
    state.models[key[0]] = (handle, model)
    state.kept[handle] = model
    return handle, scores


def _is_memory(exc: BaseException) -> bool:
    return isinstance(exc, MemoryError) or "bad_alloc" in str(exc)


def serve(fd: int) -> None:
    from multiprocessing.connection import Connection

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    warnings.simplefilter("ignore")  # the search reports a trial's failure; warnings would only be noise
    _die_with_parent(os.getppid())
    conn = Connection(fd)
    state = _State()
    import cloudpickle

    while True:
        try:
            request = pickle.loads(conn.recv_bytes())
        except (EOFError, OSError):
            return  # the search process is gone
        kind, args = request[0], request[1:]
        try:
            if kind == "init":
                sys.path[:0] = [p for p in args[0] if p not in sys.path]
                import automl.preprocessing.pipeline  # noqa: F401  (ready before the first fit)
                from automl.search.threads import fit_threads

                with fit_threads(1):  # threadpoolctl inspects the native libraries once: now, not in a trial
                    pass
                answer = ("ok", os.getpid())
            elif kind == "spec":
                state.specs[args[0]] = args[1]
                answer = ("ok", None)
            elif kind == "fold":
                state.folds[args[0]] = (args[1], args[2])
                answer = ("ok", None)
            elif kind == "fit":
                answer = ("ok", _fit(state, *args))
            elif kind == "fetch":  # the models of the current trial the search keeps
                answer = ("ok", [state.kept[h] for h in args[0]])
            else:
                answer = ("error", f"ValueError: unknown request {kind!r}")
        except BaseException as exc:  # a plugin's failure is the search's to record
            state.models, state.kept = {}, {}
            answer = ("memory" if _is_memory(exc) else "error", f"{type(exc).__name__}: {exc}")
        try:
            payload = cloudpickle.dumps(answer)
        except BaseException as exc:  # an unpicklable model
            payload = pickle.dumps(("error", f"{type(exc).__name__}: the fitted model cannot be sent back: {exc}"))
        try:
            conn.send_bytes(payload)
        except (EOFError, OSError):
            return


if __name__ == "__main__":
    serve(int(sys.argv[1]))
