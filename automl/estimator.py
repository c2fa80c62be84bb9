"""``AutoML``: the estimator users call. It only orchestrates the named steps."""

from __future__ import annotations

import logging
import time
from typing import Any, Sequence

import numpy as np
import optuna
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.preprocessing import LabelEncoder

from automl import persistence
from automl.predictor import Predictor
from automl.inspection import explain, importances
from automl._logging import fit_logging
from automl.final.ensemble import Ensemble, EnsembleBudget, build_ensemble, pick_candidates, single
from automl.final.latency import Latency, predict_times
from automl.data.inputs import has_string_names, split_xy
from automl.exceptions import DataError, SearchError
from automl.final.fold_models import FoldAverage
from automl.report.leaderboard import trials_frame
from automl.metrics import resolve_metric
from automl.search.observers import TrialObserver
from automl.preprocessing.pipeline import build_pipeline
from automl.data.profile import profile_frame
from automl.search.progress import Progress
from automl.registry import discover
from automl.search.budget import Budget
from automl.search.cv import make_splits
from automl.search.objective import Objective, SearchData
from automl.search.fidelity import n_rungs
from automl.search.threads import fit_threads, resolve_n_jobs, threads_for
from automl.search.study import enqueue_defaults, make_pruner, make_study, run_search
from automl.spec import BuildContext
from automl.data.task import resolve_task

log = logging.getLogger(__name__)


class AutoML(Predictor, BaseEstimator):
    """Automatic model search for a pandas DataFrame (or any 2-D data), a scikit-learn estimator.

    ``fit`` is here; ``predict``, ``predict_proba``, ``score`` and the scikit-learn
    conventions (tags, ``clone``) are in :class:`automl.predictor.Predictor`.

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
    exclude_models : model names not to search.
    disable_plugins : plugin names not to load (also ``AUTOML_DISABLE_PLUGINS``).
    plugins : extra plugin objects (modules or instances with hook functions).
    cv : "auto" (5 folds up to 5k rows, 3 up to 10k — 50k with a budget of 10 minutes
        or more — else a 20% holdout), a number of folds, or 1 for a holdout.
    storage : None (in memory), an Optuna storage URL or object; with ``study_name``
        an existing study is resumed.
    study_name : name of the Optuna study (default: a new unique name).
    seed : seeds the sampler, the folds and the models.
    n_jobs : threads the models may use (-1: all cores).
    verbose : 0 silent, 1 progress bar and summary on stderr, 2 debug.
    halving : successive halving: each trial starts at a fraction of its model's resource
        (trees, iterations, epochs or rows) and only the best ``1/halving_eta`` of the
        trials of the same model go on to the next rung. Off below 500 rows.
    halving_eta : the reduction factor (3: rungs at 1/9, 1/3 and all of the resource).
    infer_limit : seconds the final model's pipelines may take to predict one row,
        measured at fit on this machine (default 0.04: under 50 ms with the input checks).
        Ensemble members are left out, the slowest first, until the ensemble fits; the
        best single model is always kept. None: no limit (and no measured time decides
        the ensemble, so that with ``time_budget=None`` a seed gives the same model).
    """

    def __init__(
        self,
        time_budget: float | None = 60,
        n_trials: int | None = None,
        metric: str | None = None,
        task: str | None = None,
        models: Sequence[str] | None = None,
        exclude_models: Sequence[str] = (),
        disable_plugins: Sequence[str] = (),
        plugins: Sequence[Any] = (),
        cv: int | str = "auto",
        storage: Any = None,
        study_name: str | None = None,
        seed: int = 0,
        n_jobs: int = -1,
        verbose: int = 1,
        halving: bool = True,
        halving_eta: int = 3,
        infer_limit: float | None = 0.04,
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
        self.storage = storage
        self.study_name = study_name
        self.seed = seed
        self.n_jobs = n_jobs
        self.verbose = verbose
        self.halving = halving
        self.halving_eta = halving_eta
        self.infer_limit = infer_limit

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
        if isinstance(self.models, str) or isinstance(self.exclude_models, str):
            raise DataError("models and exclude_models take a list of names, e.g. models=['lightgbm'].")

    def fit(self, X, y=None) -> "AutoML":
        """Search for the best model of ``X`` → ``y`` and refit it on all rows.

        ``y`` is a column name of ``X`` or the target values. ``X`` is not modified.
        """
        self._validate_params()
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("__")]:
            delattr(self, name)  # a refit starts from scratch (feature_names_in_ may not be set again)
        with fit_logging(self.verbose):
            budget = EnsembleBudget(self.time_budget)
            timings: dict[str, float] = {}
            t0 = time.perf_counter()
            data, specs, registry = self._prepare(X, y)
            timings["profile"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            rungs = n_rungs(len(data.y), self.halving)
            self.study_ = make_study(self.storage, self.study_name, self.seed, make_pruner(rungs, self.halving_eta))
            enqueue_defaults(self.study_, list(specs.values()))
            objective = Objective(data, specs, budget, self.seed, self._n_jobs(), rungs, self.halving_eta)
            log.info(
                "Searching %d models (%s) for %s with %s, %d fold(s), %d rung(s)%s.",
                len(specs), ", ".join(sorted(specs)), self.task_.value, data.metric.name, len(data.splits), rungs,
                f", {self.time_budget:g} s budget" if self.time_budget else "",
            )
            progress = Progress(budget, data.metric.name, self.n_trials) if self.verbose > 0 else None
            observer = TrialObserver(registry.observers, data.metric.name, {n: s.plugin for n, s in specs.items()})
            run_search(self.study_, objective, budget, self.n_trials, progress, observer)
            timings["search"] = time.perf_counter() - t0

            t0 = time.perf_counter()
            refit_note = self._refit_best(data, specs, objective, budget)
            timings["refit"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            refits = {} if self.best_trial_ is None else {self.best_trial_: self.best_model_}
            latency = Latency(data.X.iloc[:1], data.n_classes, self.infer_limit)
            self.ensemble_ = self._build_ensemble(data, specs, objective, budget, refits, latency)
            if refit_note:
                self.ensemble_.notes.insert(0, refit_note)
            predict_ms = predict_times(refits, data.X, data.n_classes, latency, lambda: budget.remaining() - budget.margin)
            del refits
            timings["ensemble"] = time.perf_counter() - t0
            log.info("Final model: %s.", self.ensemble_.report)
            self.oof_predictions_ = objective.oof
            target = self.classes_[data.y] if self.task_.is_classification else data.y
            self.train_sample_ = importances.training_sample(data.X, target, self.target_, self.seed)
            self._importances = {}  # feature_importances() on train_sample_, by (n_repeats, max_rows, method)
            self.validation_predictions_ = self._validation_frame(data, objective.oof.get(self.best_trial_))
            timings["total"] = budget.elapsed()
            self.timings_ = {k: round(v, 3) for k, v in timings.items()} | {
                "budget": self.time_budget,
                "budget_used": None if not self.time_budget else round(timings["total"] / self.time_budget, 3),
            }
            self.leaderboard_ = trials_frame(
                self.study_.get_trials(deepcopy=False), self.metric_, self.ensemble_.trial_weights(), predict_ms
            )
            log.info(
                "Best: %s (trial %s), CV %s = %.5g; fit took %.1f s.",
                self.best_model_name_, self.best_trial_, self.metric_, self.best_score_, timings["total"],
            )
        return self

    def _n_jobs(self) -> int:
        return resolve_n_jobs(self.n_jobs)

    def _prepare(self, X, y):
        features, target, target_name = split_xy(X, y)
        decision = resolve_task(target, self.task)
        self.task_, self.task_reason_, self.target_ = decision.task, decision.reason, target_name
        if self.task_.is_classification:
            encoder = LabelEncoder()
            try:
                y_enc = encoder.fit_transform(target.to_numpy())
            except TypeError:  # mixed types: compare as text
                y_enc = encoder.fit_transform(target.astype(str).to_numpy())
            self.classes_ = encoder.classes_
        else:
            y_enc = pd.to_numeric(target, errors="raise").to_numpy(dtype=float)
        n_classes = len(self.classes_) if self.task_.is_classification else 0
        # The columns as the model names them (always); feature_names_in_ only for a frame
        # with string column names, as in scikit-learn.
        self.feature_columns_ = [str(c) for c in features.columns]
        if has_string_names(X):
            self.feature_names_in_ = np.asarray(self.feature_columns_, dtype=object)
        features.columns = self.feature_columns_
        self.n_features_in_ = features.shape[1]
        self.profile_ = profile_frame(features, n_classes=n_classes)
        if self.profile_.n_features == 0:
            raise DataError(f"No usable feature column: every column was dropped ({self.profile_.dropped}).")
        for name, why in self.profile_.dropped.items():
            log.info("Column %r dropped: %s.", name, why)
        log.info("Task: %s (%s).", self.task_.value, self.task_reason_)

        registry = discover(disabled=self.disable_plugins, plugins=self.plugins)
        chosen, self.skipped_models_ = registry.select(
            self.task_, len(features), models=self.models, exclude=self.exclude_models
        )
        for name, why in sorted(self.skipped_models_.items()):
            log.info("Model %r skipped: %s.", name, why)
        if not chosen:
            raise SearchError(f"No model can be searched for this {self.task_.value} task: {self.skipped_models_}.")
        metric = resolve_metric(self.metric, self.task_, registry.metrics)
        self.metric_ = metric.name
        self.scorer_ = metric  # kept (and saved) with the model: score() needs no plugin lookup
        splits = make_splits(y_enc, self.task_, self.cv, self.seed, self.time_budget)
        data = SearchData(features, y_enc, self.task_, self.profile_, splits, metric, n_classes)
        return data, {s.name: s for s in chosen}, registry

    def _refit_best(self, data: SearchData, specs: dict, objective: Objective, budget: Budget) -> str:
        """Refit the best completed trial on all rows (the next one if it fails); returns a
        note when the final model is not such a refit.

        When the refit would overrun the budget (the search ran late, or the refit is
        costlier than reserved), the best trial's fold models from the search, averaged,
        are the final model instead (``FoldAverage``: no training). When no trial finished
        (a tiny budget), the cheapest model's first default configuration is fitted, so
        that ``fit`` still returns a model.
        """
        # Only COMPLETE trials carry a full-resource score: Optuna gives a pruned trial the
        # value of its last (lower) rung, which must never compete with full scores.
        complete = self.study_.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        done = [t for t in complete if np.isfinite(t.value) and t.params.get("model") in specs]
        done.sort(key=lambda t: t.value, reverse=True)
        candidates = [(specs[t.params["model"]], t.user_attrs.get("params", {}), t.number, float(t.value)) for t in done]
        if not candidates:
            cheapest = min(specs.values(), key=lambda s: s.cost)
            log.warning("No trial finished within the budget; fitting %s with its default parameters.", cheapest.name)
            candidates = [(cheapest, dict(cheapest.default_params[0]), None, float("nan"))]
        folds = objective.best_folds
        for spec, params, number, score in candidates:
            left = budget.remaining() - budget.margin
            if folds is not None and number == folds[0] and budget.best_refit is not None and budget.best_refit > left:
                self.best_model_, self.best_model_name_ = FoldAverage(folds[1], data.n_classes), spec.name
                self.best_trial_, self.best_score_, self.best_params_ = number, score, dict(params)
                note = (f"the best model is its {len(folds[1])} validation-fold model(s) averaged: refitting it on "
                        f"all rows (about {budget.best_refit:.1f} s) would overrun the budget ({max(left, 0):.1f} s left)")
                log.info("Final refit skipped: %s.", note)
                return note
            try:
                pipe = self._fit_pipeline(data, spec, params)
            except Exception as exc:
                log.warning("Refit of trial %s (%s) failed: %s; trying the next best.", number, spec.name, exc)
                continue
            self.best_model_, self.best_model_name_ = pipe, spec.name
            self.best_trial_, self.best_score_, self.best_params_ = number, score, dict(params)
            return ""
        raise SearchError(
            "Every candidate failed to refit on all rows; the leaderboard() shows what each trial did."
        )

    def _fit_pipeline(self, data: SearchData, spec, params: dict):
        """``spec``'s pipeline with ``params``, fitted on all rows."""
        ctx = BuildContext(self.task_, self.seed, threads_for(len(data.y), self._n_jobs()), n_classes=data.n_classes)
        pipe = build_pipeline(spec, params, data.profile, ctx)
        with fit_threads(ctx.n_jobs):
            pipe.fit(data.X, data.y)
        return pipe

    def _build_ensemble(self, data: SearchData, specs: dict, objective: Objective, budget, refits: dict,
                        latency: Latency) -> Ensemble:
        """The final model: an ensemble of the best trials when it beats the best one out of
        fold (see ``automl.final.ensemble``), else the single best pipeline. Never fails the fit.
        ``refits`` (trial → pipeline) gets every member refit on all rows; ``latency`` trims
        the ensemble when ``infer_limit`` is set."""
        if self.best_trial_ not in objective.oof:
            why = "no trial finished" if self.best_trial_ is None else "the best trial has no out-of-fold predictions"
            return single(self.best_trial_, self.best_model_name_, self.best_model_, self.best_score_, why)
        complete = self.study_.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
        trials = {t.number: t for t in complete if t.params.get("model") in specs}
        candidates = pick_candidates(
            trials.values(), objective.oof, data.val_rows, self.best_trial_, objective._refit_estimate
        )

        def refit(number: int):
            trial = trials[number]
            refits[number] = self._fit_pipeline(data, specs[trial.params["model"]], trial.user_attrs.get("params", {}))
            return refits[number]

        try:
            return build_ensemble(candidates, self.best_model_, data.y[data.val_rows], data.metric, self.task_,
                                  data.n_classes, self.seed, budget, refit,
                                  None if self.infer_limit is None else latency)
        except Exception as exc:
            log.warning("The ensemble could not be built (%s: %s); using the best model.", type(exc).__name__, exc)
            return single(self.best_trial_, self.best_model_name_, self.best_model_, self.best_score_,
                          f"the ensemble could not be built ({type(exc).__name__}: {exc})")

    def _validation_frame(self, data: SearchData, oof) -> pd.DataFrame | None:
        """The best trial's out-of-fold predictions on the validation rows, with the truth
        (kept in saved models, for reports): ``y_true`` plus one column per class or ``y_pred``."""
        if oof is None:
            return None
        rows = data.val_rows
        if self.task_.is_classification:
            frame = pd.DataFrame(oof[rows], columns=list(self.classes_), index=rows)
            frame.insert(0, "y_true", self.classes_[data.y[rows]])
            return frame
        return pd.DataFrame({"y_true": data.y[rows], "y_pred": oof[rows]}, index=rows)

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
        column) for an unbiased estimate. Without ``X`` the rows are a sample of the
        training data kept at fit (``train_sample_``): the model has seen them, so the
        importances are optimistic (a warning says so); that result is cached.
        """
        self._check_fitted()
        if X is not None:
            return importances.permutation_importances(self, X, y, n_repeats, max_rows, method=method)
        key = (n_repeats, max_rows, method)
        if key not in self._importances:
            self._importances[key] = importances.permutation_importances(
                self, self.train_sample_, self.target_, n_repeats, max_rows, in_sample=True, method=method
            )
        return self._importances[key].copy()

    def explain(self, X=None, y=None) -> str:
        """A short plain-language summary: the columns that matter most and their share of
        the model's skill, the columns that do not matter, and the direction of the top
        numeric columns' effects (partial dependence). ``X``, ``y``: as ``feature_importances``."""
        return explain.summary(self, X, y)

    def plot_importances(self, path=None, top: int = 20, X=None, y=None):
        """Horizontal bar chart of the ``top`` importances with their 95% intervals (needs
        matplotlib); saved to ``path`` when given. Returns the matplotlib Figure."""
        return explain.plot_importances(self, path, top, X, y)

    # ----------------------------------------------------------- persist --
    def save(self, path) -> None:
        """Write the fitted object to ``path`` (one file; versions recorded)."""
        self._check_fitted()
        persistence.save(self, path)

    @classmethod
    def load(cls, path) -> "AutoML":
        payload = persistence.load_payload(path)
        model = payload["model"]
        if not isinstance(model, cls):
            raise DataError(f"{str(path)!r} holds a {type(model).__name__}, not an AutoML model.")
        return model

    def __setstate__(self, state):
        if "_metric" in state:  # saved before the metric object was public
            state["scorer_"] = state.pop("_metric")
        if "feature_columns_" not in state and "feature_names_in_" in state:  # saved before feature_columns_
            state["feature_columns_"] = [str(c) for c in state["feature_names_in_"]]
        self.__dict__.update(state)

    def __getstate__(self):
        state = self.__dict__.copy()
        state.pop("study_", None)  # the study lives in its storage; the leaderboard is kept
        state.pop("oof_predictions_", None)
        # Plugin objects (often modules) are not picklable; the fitted pipeline is all
        # that predict needs. The names stay for the record.
        state["plugins"] = tuple(getattr(p, "__name__", type(p).__name__) for p in self.plugins)
        return state
