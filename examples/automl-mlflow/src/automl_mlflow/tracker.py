"""``MLflowTracker``: an automl plugin object that logs each search to MLflow.

One parent run per fit, found by the search's Optuna study name (the tag
``automl.study_name``): created on the fit's first trial, or found in the experiment when
the study is resumed (same ``study_name`` and ``storage``). One child run per trial, ended
at once: the model's name and parameters as params, its score, rung and duration as
metrics, its state, resource, plugin and error as tags, and its start and end times. The
parent also gets ``best_score`` at each improvement (step = trial number).

The observer only sees trials, so the final model is logged by ``log_final(aml)`` after
``fit``: the settings as params, the final model's scores and times as metrics, the
ensemble's report as a tag; it ends the parent run (open parents are ended at exit).
MLflow is imported on first use, so that automl's plugin discovery stays cheap.
"""

from __future__ import annotations

import atexit
import math
import os
import threading
import time
from typing import Any

from automl import TrialInfo

DEFAULT_EXPERIMENT = "automl"
STUDY_TAG = "automl.study_name"
ROLE_TAG = "automl.role"
PARENT_TAG = "mlflow.parentRunId"  # MLflow's own: nests a run under another in its UI
_MAX_TEXT = 5000  # MLflow limits params to 6,000 and tags to 8,000 characters


def _text(value: Any) -> str:
    return str(value)[:_MAX_TEXT]


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


class MLflowTracker:
    """Log automl searches to MLflow: ``AutoML(plugins=[MLflowTracker(uri)])``, then
    ``tracker.log_final(aml)`` after ``fit``.

    ``tracking_uri``: where the runs go, e.g. ``sqlite:///mlflow.db`` (None: MLflow's
    default, ``MLFLOW_TRACKING_URI``). ``experiment``: its name, created when missing
    (default ``MLFLOW_EXPERIMENT_NAME``, else "automl"). Calls are serialised by a lock.
    """

    def __init__(self, tracking_uri: str | None = None, experiment: str | None = None):
        self.tracking_uri = tracking_uri
        self.experiment = experiment or os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
        self._client = None
        self.experiment_id: str | None = None
        self._parents: dict[str, str] = {}  # study name → parent run id
        self._open: set[str] = set()  # parent runs this tracker has not ended
        self._best: dict[str, float] = {}
        self._lock = threading.Lock()
        atexit.register(self.close)

    # ------------------------------------------------------------------ hook --
    def automl_trial_finished(self, trial: TrialInfo) -> None:
        """The automl hook: one child run for ``trial`` under its fit's parent run."""
        from mlflow.entities import Metric, Param, RunTag

        with self._lock:
            parent, client = self._parent(trial.study_name), self.mlflow_client()
            end = int(time.time() * 1000)
            tags = {
                PARENT_TAG: parent, STUDY_TAG: trial.study_name, ROLE_TAG: "trial", "automl.trial": trial.number,
                "automl.model": trial.model, "automl.plugin": trial.plugin, "automl.state": trial.state,
                "automl.metric": trial.metric, "automl.resource": trial.resource, "automl.default": trial.default,
                "automl.error": trial.error,
            }
            run = client.create_run(self.experiment_id, start_time=end - int(1000 * trial.duration),
                                    run_name=f"trial {trial.number} {trial.model or ''}".strip(),
                                    tags={k: _text(v) for k, v in tags.items() if v not in (None, "")})
            params = {"model": trial.model, **trial.params}
            values = {"score": trial.score, "rung": trial.rung, "duration_s": trial.duration}
            metrics = [Metric(k, v, end, 0) for k, v in ((k, _number(v)) for k, v in values.items()) if v is not None]
            client.log_batch(run.info.run_id, metrics=metrics,
                             params=[Param(k, _text(v)) for k, v in params.items() if v is not None])
            client.set_terminated(run.info.run_id, "FAILED" if trial.state == "failed" else "FINISHED", end)
            if trial.score is not None and trial.score > self._best.get(parent, -math.inf):
                self._best[parent] = trial.score
                client.log_batch(parent, metrics=[Metric("best_score", trial.score, end, trial.number)],
                                 tags=[RunTag("automl.metric", trial.metric)])
        return None

    # ----------------------------------------------------------- final model --
    def log_final(self, aml, X=None, y=None) -> str:
        """Log the fitted ``aml`` to its fit's parent run and end that run; returns its id.

        Params: the AutoML settings. Metrics: ``best_score`` (the best trial's CV score),
        ``final_score`` (the final model's out-of-fold score), ``single_best_score``,
        ``n_trials``, ``fit_s`` and ``<phase>_s`` per phase, ``predict_1_ms`` and
        ``predict_1000_ms`` (the final model's pipelines together) and, with held-out
        ``X`` and ``y`` (as ``aml.score`` takes them), ``test_score``. Tags: the task, the
        metric, the best model and the ensemble's report.
        """
        from mlflow.entities import Metric, Param, RunTag

        study = getattr(aml, "study_", None)
        if study is None:
            raise ValueError("log_final needs the AutoML that fit() returned: call it after fit, before save/load "
                             "(a loaded model has no study_).")
        ens, board = aml.ensemble_, aml.leaderboard()
        members = board[board["trial"].isin([m["trial"] for m in ens.members])]
        values = {
            "best_score": aml.best_score_, "final_score": ens.oof_score, "single_best_score": ens.single_best_score,
            "n_trials": len(board), "fit_s": aml.timings_.get("total"),
            **{f"{phase}_s": s for phase, s in aml.timings_.items() if phase in ("profile", "search", "refit", "ensemble")},
        }
        for column in ("predict_1_ms", "predict_1000_ms"):
            if column in members and len(members) == len(ens.members):
                values[column] = members[column].sum(min_count=len(members))
        if X is not None:
            values["test_score"] = aml.score(X, y)
        tags = {"automl.task": aml.task_.value, "automl.metric": aml.metric_, "automl.target": aml.target_,
                "automl.best_model": aml.best_model_name_, "automl.ensemble": ens.method, "automl.final_model": ens.report}
        with self._lock:
            run_id, client = self._parent(study.study_name), self.mlflow_client()
            logged = client.get_run(run_id).data.params  # params cannot change: a resumed study keeps the first
            now = int(time.time() * 1000)
            settings = aml.get_params() | {"plugins": [getattr(p, "__name__", type(p).__name__) for p in aml.plugins]}
            client.log_batch(
                run_id,
                metrics=[Metric(k, v, now, 0) for k, v in ((k, _number(v)) for k, v in values.items()) if v is not None],
                params=[Param(k, _text(v)) for k, v in settings.items() if k not in logged],
                tags=[RunTag(k, _text(v)) for k, v in tags.items()],
            )
            client.set_terminated(run_id, "FINISHED", now)
            self._open.discard(run_id)
        return run_id

    def close(self) -> None:
        """End the parent runs this tracker left open (called at exit)."""
        with self._lock:
            for run_id in list(self._open):
                try:
                    self.mlflow_client().set_terminated(run_id, "FINISHED")
                except Exception:  # noqa: BLE001 - at exit, the store may be gone
                    pass
                self._open.discard(run_id)

    # -------------------------------------------------------------- runs --
    # Not a property: automl's plugin registration reads every attribute of a plugin object.
    def mlflow_client(self):
        """The ``MlflowClient`` (created, with the experiment, on first use)."""
        if self._client is None:
            from mlflow.tracking import MlflowClient

            client = MlflowClient(tracking_uri=self.tracking_uri)
            found = client.get_experiment_by_name(self.experiment)
            self.experiment_id = found.experiment_id if found else client.create_experiment(self.experiment)
            self._client = client
        return self._client

    def parent_run_id(self, study_name: str) -> str:
        """The id of the fit's parent run (created when the study has none yet)."""
        with self._lock:
            return self._parent(study_name)

    def _parent(self, study_name: str) -> str:
        if study_name in self._parents:
            return self._parents[study_name]
        client = self.mlflow_client()
        found = []
        if "'" not in study_name:
            found = client.search_runs([self.experiment_id], max_results=1, filter_string=(
                f"tags.`{STUDY_TAG}` = '{study_name}' and tags.`{ROLE_TAG}` = 'fit'"))
        if found:
            run_id = found[0].info.run_id
        else:
            tags = {STUDY_TAG: study_name, ROLE_TAG: "fit"}
            outer = self._active_run()
            if outer is not None:
                tags[PARENT_TAG] = outer
            run_id = client.create_run(self.experiment_id, run_name=f"automl {study_name}", tags=tags).info.run_id
            self._open.add(run_id)
        self._parents[study_name] = run_id
        return run_id

    def _active_run(self) -> str | None:
        """The caller's active MLflow run in the same store and experiment (the fit's run
        nests under it), if any."""
        import mlflow

        active = mlflow.active_run()
        if active is None or active.info.experiment_id != self.experiment_id:
            return None
        if self.tracking_uri is not None and self.tracking_uri != mlflow.get_tracking_uri():
            return None
        return active.info.run_id

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_client"], state["_lock"] = None, None
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self._lock = threading.Lock()
