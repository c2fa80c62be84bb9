"""``AutoML``: the estimator users call. It only orchestrates the named steps."""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from automl._logging import fit_logging
from automl.data.inputs import has_string_names
from automl.exceptions import DataError
from automl.final.assemble import assemble, fit_pipeline
from automl.final.calibration import METHODS as CALIBRATION_METHODS
from automl.final.ensemble import EnsembleBudget
from automl.inspection import explain, importances
from automl.inspection.out_of_fold import OutOfFold, RefitFolds, summarize_validation, validation_frame
from automl.model_file import state as model_file
from automl.model_file.archive import library_versions
from automl.predictor import Predictor
from automl.report.leaderboard import trials_frame
from automl.search.budget import Budget
from automl.search.cv import check_repeats
from automl.search.isolation import ISOLATIONS, Trainer
from automl.search.memory import parse_limit
from automl.search.objective import Objective
from automl.search.search_data import SearchData
from automl.search.observers import TrialObserver
from automl.search.progress import Progress
from automl.search.session import open_search, prepare
from automl.search.study import run_search, signal_stop
from automl.search.threads import resolve_n_jobs

log = logging.getLogger(__name__)

NO_ROWS = ("Feature importances without data need training rows, and this model keeps none (a model file holds "
           "none unless fit with keep_training_sample=True); pass data: feature_importances(X, y), or automl explain "
           "MODEL DATA.")


class AutoML(Predictor, BaseEstimator):
    """Automatic model search for a pandas DataFrame (or any 2-D data), a scikit-learn estimator.

    ``fit`` and ``search`` are here; ``predict``, ``predict_proba``, ``score`` and the
    scikit-learn conventions (tags, ``clone``) are in :class:`automl.predictor.Predictor`.

    Parameters
    ----------
    time_budget : seconds for the whole ``fit`` (search and final refit); None for no limit.
    n_trials : stop after this many trials (whichever of the two comes first).
    metric : a scikit-learn scorer name; default ROC AUC (binary), log loss (multiclass),
        RMSE (regression).
    task : "binary", "multiclass", "regression", "classification" (binary or multiclass, from
        the number of classes), or None to detect it from the target. It also makes the
        unfitted estimator a classifier or a regressor for scikit-learn (stratified folds in
        ``cross_val_score``); with None it is one only once fitted.
    models : search only these model names (see ``automl plugins``).
    exclude_models : model names not to search (None, like an empty list: none).
    disable_plugins : plugin names not to load (also ``AUTOML_DISABLE_PLUGINS``).
    plugins : extra plugin objects (modules or instances with hook functions).
    cv : "auto" (5 folds up to 5k rows, 3 up to 10k — 50k with a budget of 10 minutes
        or more — else a 20% holdout), a number of folds, or 1 for a holdout.
    cv_repeats : "auto" (the folds drawn twice on tables of up to 2,000 rows with a
        ``time_budget`` of 60 s or more, else once) or a number: the K folds are drawn that many times,
        reshuffled, and every out-of-fold prediction is the mean over the draws (a holdout
        is never repeated).
    storage : None (in memory), an Optuna storage URL (``sqlite:///run.db``, or PostgreSQL
        ``postgresql+psycopg://user@host/db`` for many machines) or storage object; with
        ``study_name`` an existing study is joined: its finished trials are not trained
        again and enter the final model (resume after a crash; workers: ``search``).
    study_name : name of the Optuna study (default: a new unique name).
    artifacts : where a stored study keeps its trials' out-of-fold predictions: a
        directory (one every machine reaches, for many machines) or an Optuna
        ``ArtifactStore``; default a directory beside a SQLite file (``run.db-artifacts``).
    seed : seeds the sampler, the folds and the models.
    n_jobs : threads the models may use (-1: all cores).
    verbose : 0 silent, 1 progress bar and summary on stderr, 2 debug.
    halving : successive halving: each trial starts at a fraction of its model's resource
        (trees, iterations, epochs or rows) and only the best ``1/halving_eta`` of the
        trials of the same model go on to the next rung. Off below 500 rows. Above 100,000
        training rows the rungs are row subsamples for every model (see the README).
    halving_eta : the reduction factor (3: rungs at 1/9, 1/3 and all of the resource).
    infer_limit : seconds the final model's members may take to predict one row (through
        the fast path), measured at fit on this machine (default 0.015: under 20 ms with
        the input checks; it was 0.04 before the fast path made members ~10x faster).
        Ensemble members are left out, the slowest first, until the ensemble fits; the
        best single model is always kept. None: no limit (and no measured time decides
        the ensemble, so that with ``time_budget=None`` a seed gives the same model).
    isolation : where trials train. "auto": third-party plugins' models in a worker
        process that is stopped at the deadline, the per-trial time limit or the memory
        limit (a plugin that hangs or eats the memory cannot take the fit down), the
        built-in models in this process; "process": every model in the worker; "none":
        every model in this process.
    memory_limit : memory one trial may use: "auto" (half the memory available when the
        fit starts), a number of megabytes, a size such as "4GB", or None (no limit). A
        trial predicted to need more (rows x columns x a factor per model) is skipped with
        the reason; one in the worker process that allocates more is stopped and recorded.
    trial_time_limit : seconds one trial run in the worker process may train before it is
        killed and recorded as failed: "auto" (a tenth of ``time_budget``, auto-sklearn's
        default; none without a budget), a number, or None.
    keep_training_sample : keep a sample of the training rows in the fitted model (and
        its file) for importances and explanations without data.
    calibration : how the final model's class probabilities are calibrated on their
        out-of-fold values: "auto" (temperature, Platt or isotonic scaling, chosen by an
        inner cross-validation of the out-of-fold log loss, applied only when it lowers it
        and not the metric), one of those methods, or None (never). Unless None, a share
        0.5 / (n + 1) of the uniform distribution (n: the out-of-fold rows) is then mixed in, so
        that no probability is 0 or 1: a certain mistake would cost unbounded log loss (not when
        the metric is the log loss or the Brier score: the search judged the probabilities).
    """

    def __init__(
        self,
        time_budget: float | None = 60,
        n_trials: int | None = None,
        metric: str | None = None,
        task: str | None = None,
        models: Sequence[str] | None = None,
        exclude_models: Sequence[str] | None = (),
        disable_plugins: Sequence[str] = (),
        plugins: Sequence[Any] = (),
        cv: int | str = "auto",
        cv_repeats: int | str = "auto",
        storage: Any = None,
        study_name: str | None = None,
        artifacts: Any = None,
        seed: int = 0,
        n_jobs: int = -1,
        verbose: int = 1,
        halving: bool = True,
        halving_eta: int = 3,
        infer_limit: float | None = 0.015,
        keep_training_sample: bool = False,
        isolation: str = "auto",
        memory_limit: float | str | None = "auto",
        trial_time_limit: float | str | None = "auto",
        calibration: str | None = "auto",
    ):
        self.time_budget = time_budget
        self.n_trials = n_trials
        self.metric = metric
        self.task = task
        self.models = models
        self.exclude_models = exclude_models
        self.disable_plugins = disable_plugins
        self.plugins = plugins
        self.cv = cv
        self.cv_repeats = cv_repeats
        self.storage = storage
        self.study_name = study_name
        self.artifacts = artifacts
        self.seed = seed
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.halving = halving
        self.halving_eta = halving_eta
        self.infer_limit = infer_limit
        self.keep_training_sample = keep_training_sample
        self.isolation = isolation
        self.memory_limit = memory_limit
        self.trial_time_limit = trial_time_limit
        self.calibration = calibration

    # ------------------------------------------------------------------ fit --
    def _validate_params(self) -> None:
        if self.time_budget is not None and not self.time_budget > 0:
            raise DataError(f"time_budget must be a positive number of seconds or None, got {self.time_budget!r}.")
        if self.n_trials is not None and (not isinstance(self.n_trials, (int, np.integer)) or self.n_trials < 1):
            raise DataError(f"n_trials must be a positive integer or None, got {self.n_trials!r}.")
        if not isinstance(self.halving_eta, (int, np.integer)) or self.halving_eta < 2:
            raise DataError(f"halving_eta must be an integer >= 2, got {self.halving_eta!r}.")
        if self.infer_limit is not None and not (isinstance(self.infer_limit, (int, float)) and self.infer_limit > 0):
            raise DataError(f"infer_limit must be a positive number of seconds or None, got {self.infer_limit!r}.")
        if self.n_jobs is not None and (not isinstance(self.n_jobs, (int, np.integer)) or self.n_jobs == 0 or self.n_jobs < -1):
            raise DataError(f"n_jobs must be a positive number of threads or -1 (all cores), got {self.n_jobs!r}.")
        check_repeats(self.cv_repeats)
        if self.isolation not in ISOLATIONS:
            raise DataError(f"isolation must be one of {', '.join(map(repr, ISOLATIONS))}, got {self.isolation!r}.")
        try:
            parse_limit(self.memory_limit)
        except ValueError as exc:
            raise DataError(str(exc)) from None
        limit = self.trial_time_limit
        if limit != "auto" and limit is not None and not (isinstance(limit, (int, float)) and limit > 0):
            raise DataError(f"trial_time_limit must be 'auto', None or a positive number of seconds, got {limit!r}.")
        if self.calibration is not None and self.calibration not in ("auto", *CALIBRATION_METHODS):
            raise DataError(f"calibration must be 'auto', None or one of {', '.join(CALIBRATION_METHODS)}, "
                            f"got {self.calibration!r}.")
        if isinstance(self.models, str) or isinstance(self.exclude_models, str):
            raise DataError("models and exclude_models take a list of names, e.g. models=['lightgbm'].")

    def fit(self, X, y=None) -> "AutoML":
        """Search for the best model of ``X`` → ``y`` and refit it on all rows.

        ``y`` is a column name of ``X`` or the target values. ``X`` is not modified.
        With a ``storage`` and a ``study_name`` that it already holds, the search goes on
        from the finished trials (after a crash, or beside workers: see ``search``).
        """
        self._validate_params()
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)  # a refit starts from scratch (feature_names_in_ may not be set again)
        with fit_logging(self.verbose):
            budget = EnsembleBudget(self.time_budget)
            timings: dict[str, float] = {}
            data, specs, objective = self._search(X, y, budget, timings)
            signal_stop(self.study_)  # the workers of this study stop after their current trial
            objective.prepared.clear()  # the folds' preprocessed copies: the refit needs the memory

            final = assemble(self.study_, data, specs, objective, budget, self.seed, self._n_jobs(), self.infer_limit,
                             self.calibration)
            self.best_model_, self.best_model_name_, self.best_trial_ = final.pipeline, final.model, final.trial
            self.best_score_, self.best_params_, self.ensemble_ = final.score, final.params, final.ensemble
            self.oof_predictions_ = final.oof  # the ensemble candidates' out-of-fold predictions, by trial
            timings.update(final.timings)
            log.info("Final model: %s.", self.ensemble_.report)
            self._keep_inspection_data(data, objective)
            timings["total"] = budget.elapsed()
            self.timings_ = {k: round(v, 3) for k, v in timings.items()} | {
                "budget": self.time_budget,
                "budget_used": None if not self.time_budget else round(timings["total"] / self.time_budget, 3),
            }
            self.leaderboard_ = trials_frame(
                self.study_.get_trials(deepcopy=False), self.metric_, self.ensemble_.trial_weights(), final.predict_ms
            )
            log.info(
                "Best: %s (trial %s), CV %s = %.5g; fit took %.1f s.",
                self.best_model_name_, self.best_trial_, self.metric_, self.best_score_, timings["total"],
            )
        return self

    def search(self, X, y=None) -> "AutoML":
        """Run trials into the study, without building a final model: what ``automl
        worker`` runs. Needs a ``storage`` and a ``study_name`` (the study is created, or
        joined when it exists, as ``fit`` does); stops at ``time_budget``/``n_trials``, or
        when a ``fit`` of the same study finishes its search. Sets ``study_`` and
        ``leaderboard_``."""
        self._validate_params()
        if self.storage is None or self.study_name is None:
            raise DataError("search() runs trials into a shared study: set storage= (e.g. 'sqlite:///run.db' or a "
                            "PostgreSQL URL) and study_name=.")
        with fit_logging(self.verbose):
            self._search(X, y, Budget(self.time_budget), {}, until_stopped=True)
            self.leaderboard_ = trials_frame(self.study_.get_trials(deepcopy=False), self.metric_)
        return self

    def _search(self, X, y, budget: Budget, timings: dict, until_stopped: bool = False):
        """Prepare the data, open the study and run the trials; returns what the final model needs."""
        t0 = time.perf_counter()
        trainer = Trainer(self.isolation, parse_limit(self.memory_limit), self._trial_time_limit())
        trainer.start()  # isolation="process": the worker imports its libraries while the data is prepared
        try:
            return self._search_with(trainer, X, y, budget, timings, until_stopped, t0)
        except BaseException:
            trainer.close()
            raise

    def _search_with(self, trainer: Trainer, X, y, budget: Budget, timings: dict, until_stopped: bool, t0: float):
        p = prepare(X, y, task=self.task, metric=self.metric, models=self.models, exclude_models=self.exclude_models,
                    disable_plugins=self.disable_plugins, plugins=self.plugins)
        self.task_, self.task_reason_, self.target_ = p.task, p.decision.reason, p.target
        if p.classes is not None:
            self.classes_ = p.classes
        # The columns as the model names them (always); feature_names_in_ only for a frame
        # with string column names, as in scikit-learn.
        self.feature_columns_ = list(p.X.columns)
        if has_string_names(X):
            self.feature_names_in_ = np.asarray(self.feature_columns_, dtype=object)
        self.n_features_in_ = p.X.shape[1]
        self.profile_, self.skipped_models_ = p.profile, p.skipped
        self.metric_ = p.metric.name
        self.scorer_ = p.metric  # kept (and saved) with the model: score() needs no plugin lookup
        timings["profile"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        self.study_, data, objective = open_search(
            p, budget, storage=self.storage, study_name=self.study_name, artifacts=self.artifacts, cv=self.cv,
            cv_repeats=self.cv_repeats, seed=self.seed, time_budget=self.time_budget, halving=self.halving,
            halving_eta=self.halving_eta,
            n_jobs=self._n_jobs(), trainer=trainer)
        if not until_stopped:
            signal_stop(self.study_, False)  # a new fit of this study: its workers may run again
        log.info(
            "Searching %d models (%s) for %s with %s, %s, %d rung(s)%s.",
            len(p.specs), ", ".join(sorted(p.specs)), self.task_.value, data.metric.name, data.folds_text(),
            objective.rungs, f", {self.time_budget:g} s budget" if self.time_budget else "",
        )
        progress = Progress(budget, data.metric.name, self.n_trials) if self.verbose > 0 else None
        observer = TrialObserver(p.registry.observers, data.metric.name, {n: s.plugin for n, s in p.specs.items()})
        run_search(self.study_, objective, budget, self.n_trials, progress, observer, until_stopped=until_stopped)
        timings["search"] = time.perf_counter() - t0
        return data, objective.specs, objective

    def _n_jobs(self) -> int:
        return resolve_n_jobs(self.n_jobs)

    def _trial_time_limit(self) -> float | None:
        if self.trial_time_limit == "auto":
            return None if self.time_budget is None else self.time_budget / 10
        return self.trial_time_limit

    def _keep_inspection_data(self, data: SearchData, objective: Objective) -> None:
        """What feature importances and reports need after fit: the best trial's fold models
        and their validation rows (in memory only), the out-of-fold predictions and their
        summary, and with ``keep_training_sample`` a sample of the training rows."""
        folds = objective.best_folds
        self._fold_models = None  # out-of-fold importances: in memory only, never saved
        if folds is not None and folds[0] == self.best_trial_:
            pipelines = folds[1]
        elif self.best_trial_ is not None and self.best_model_name_ in objective.specs:
            spec, params, n_jobs = objective.specs[self.best_model_name_], dict(self.best_params_), self._n_jobs()
            pipelines = RefitFolds(  # not kept by the search: each refit when first asked for
                lambda i: fit_pipeline(data, spec, params, self.seed, n_jobs, rows=data.splits[i][0]), len(data.splits))
        else:
            pipelines = None
        if pipelines is not None:
            self._fold_models = OutOfFold.from_search(pipelines, data.X, data.y, data.splits, data.n_classes,
                                                      self.seed, self.best_trial_, self.best_model_name_)
        self.validation_predictions_ = validation_frame(
            self.oof_predictions_.get(self.best_trial_), data.val_rows, data.y,
            self.classes_ if data.n_classes else None)
        self.validation_summary_ = summarize_validation(self.validation_predictions_, self.task_)
        target = self.classes_[data.y] if self.task_.is_classification else data.y
        self.train_sample_ = (importances.training_sample(data.X, target, self.target_, self.seed)
                              if self.keep_training_sample else None)
        self.versions_ = library_versions()
        self._importances = {}  # feature_importances() without data, by (n_repeats, max_rows, method)
        self._explanation = None  # explain() without data

    # ------------------------------------------------------------- inspect --
    def leaderboard(self) -> pd.DataFrame:
        """One row per trial: model, CV score, ``weight`` in the final model (0 for trials
        outside it; 1 for the best when it is used alone), status, fit time, parameters, error."""
        self._check_fitted()
        return self.leaderboard_.copy()

    def feature_importances(
        self, X=None, y=None, n_repeats: int = 5, max_rows: int = importances.DEFAULT_MAX_ROWS,
        method: str = "conditional",
    ) -> pd.DataFrame:
        """Permutation importance of each input column through the whole final model.

        One row per original column (a one-hot encoded or date-expanded column counts
        once): ``importance`` (mean drop of the search metric when the column is
        shuffled, over ``n_repeats``), ``std``, ``ci_low``/``ci_high`` (95% interval of a
        repetition's drop), ``rank`` (1: most important), ``note`` (why a column was
        dropped before modelling; its importance is NaN) and ``conditioned_on``. At most
        ``max_rows`` rows are used.

        ``method="conditional"`` (default) shuffles a numeric column that is strongly
        correlated with another (|Spearman| >= 0.5) only among rows with similar values
        of that partner, named in ``conditioned_on``: shuffling it over all rows would
        create rows that do not exist (a longitude at sea for its latitude) and inflate
        its importance. Other columns, and every column with ``method="marginal"``, are
        shuffled over all rows, as scikit-learn's ``permutation_importance`` does.

        Pass held-out ``X`` (and ``y``: a column name or values; default the target
        column) to measure the final model on it. Without ``X`` they are measured out of
        fold, on the training rows (after ``fit`` only; kept with a saved model once
        computed): each row predicted by the best trial's validation-fold model that did
        not train on it. Failing that, on ``train_sample_`` (``keep_training_sample=True``:
        in-sample, optimistic, a warning says so); else ask for data (``DataError``).
        """
        self._check_fitted()
        if X is not None:
            return importances.permutation_importances(self, X, y, n_repeats, max_rows, method=method)
        key = (n_repeats, max_rows, method)
        if key not in self._importances:
            if self._fold_models is not None:
                result = importances.out_of_fold_importances(self, self._fold_models, n_repeats, max_rows, method)
            elif self.train_sample_ is not None:
                result = importances.permutation_importances(self, self.train_sample_, self.target_, n_repeats,
                                                             max_rows, in_sample=True, method=method)
            else:
                raise DataError(NO_ROWS)
            self._importances[key] = result
        return self._importances[key].copy()

    def explain(self, X=None, y=None) -> str:
        """A short plain-language summary: the columns that matter most and their share of
        the model's skill, the columns that do not matter, and the direction of the top
        numeric columns' effects (partial dependence). ``X``, ``y``: as ``feature_importances``;
        without them the text is cached (and saved with the model)."""
        self._check_fitted()
        if X is not None:
            return explain.summary(self, X, y)
        if self._explanation is None:
            oof = self._fold_models
            background = oof.X if oof is not None else self.train_sample_
            self._explanation = explain.summary(self, background=background)
        return self._explanation

    def plot_importances(self, path=None, top: int = 20, X=None, y=None):
        """Horizontal bar chart of the ``top`` importances with their 95% intervals (needs
        matplotlib); saved to ``path`` when given. Returns the matplotlib Figure."""
        return explain.plot_importances(self, path, top, X, y)

    # ----------------------------------------------------------- persist --
    def save(self, path) -> None:
        """Write the fitted model to ``path``: one zip file of JSON, skops and the plugins'
        native formats (no pickle; see ``automl.model_file``). It holds no training rows
        unless ``keep_training_sample``; feature importances and the explanation computed
        without data so far are kept with it."""
        self._check_fitted()
        model_file.save(self, path, self._importances, self._explanation)

    @classmethod
    def load(cls, path, trusted: Sequence = ()) -> "AutoML":
        """The model saved at ``path``. Only trusted types are rebuilt (scikit-learn's,
        automl's, those the installed plugins declare, and ``trusted``: type names or
        classes you trust); nothing in the file is run. A file of the old pickle format is
        refused: fit the model again."""
        loaded = model_file.load(path, trusted)
        known = cls().get_params(deep=False)
        aml = cls(**{k: v for k, v in loaded.settings.items() if k in known})
        aml.__dict__.update(loaded.attributes)
        aml._importances, aml._explanation, aml._fold_models = loaded.importances, loaded.explanation, None
        return aml

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("study_", None)  # the study lives in its storage; the leaderboard is kept
        state.pop("oof_predictions_", None)
        state.pop("_fold_models", None)  # the training rows stay in this process
        # Plugin objects (often modules) are not picklable; the fitted pipeline is all
        # that predict needs. The names stay for the record.
        state["plugins"] = tuple(getattr(p, "__name__", type(p).__name__) for p in self.plugins)
        return state

    def __setstate__(self, state):
        if "feature_columns_" not in state and "feature_names_in_" in state:  # pickled before feature_columns_
            state["feature_columns_"] = [str(c) for c in state["feature_names_in_"]]
        self.__dict__.update(state)
        self.__dict__.setdefault("_fold_models", None)
