"""A PyTorch multi-layer perceptron for every task (optional: needs ``torch``).

The core's preprocessing hands the model a dense float frame (numeric columns imputed
and standardised, categoricals one-hot or target-encoded: the spec does not declare
``handles_categorical``, so no category codes reach it). Inside, the network scales each
column robustly with a smooth clip, embeds the numeric ones periodically and trains ``k``
members at once (``_mlp_net``). Epochs are the fidelity; a
model continues training from one rung to the next (``warm_start``). The estimator
module imports torch, so it is imported inside ``build``: this module loads without
torch, and the core skips the spec, with the reason, when torch is not installed.
"""

from __future__ import annotations

import os

from automl import BuildContext, Fidelity, ModelSpec, Serializer, Task, hookimpl
from automl_plugins import _mlp_files
from automl_plugins._common import LARGE_TABLE_ROWS, with_resource

_FIDELITY = Fidelity("epochs", low=8, high=60, param="max_epochs")
#: Without a GPU, more training rows than this skip the MLP (too costly): on 2 cores its
#: first rung on 25,000 of a million rows took 14 s, and its whole trial was priced at 2,800 s.
CPU_MAX_ROWS = 200_000


def _nvidia_driver() -> bool:
    """Whether an NVIDIA driver is loaded and not hidden (``CUDA_VISIBLE_DEVICES``), checked
    without importing torch (that costs 180 MB and a second in every fit)."""
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return os.path.exists("/proc/driver/nvidia/version") or os.path.exists("/dev/nvidiactl")


# Regression (mean squared error on the standardised target) trains at this multiple of the
# learning rate that the defaults and the space give (tuned on classification). The first
# default at 20 epochs, one fit on the 75/25 split: california_housing R² 0.821 at 4e-3,
# 0.827 at 6e-3, 0.829 at 8e-3 and 1.2e-2; cpu_act 0.985 either way; phoneme (classification)
# AUC 0.954 at 4e-3 but 0.949 at 6e-3 and 0.942 at 8e-3 (40 epochs).
_REGRESSION_LR = 2.0


def _space(trial, profile) -> dict:
    params = {
        "hidden_layers": trial.suggest_int("hidden_layers", 1, 4),
        "width": trial.suggest_int("width", 64, 1024, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "learning_rate": trial.suggest_float("learning_rate", 1e-4, 1e-2, log=True),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-1, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [128, 256, 512, 1024]),
        "k": trial.suggest_categorical("k", [1, 2, 4, 8, 16, 32]),
        "norm": trial.suggest_categorical("norm", ["batch", "none"]),
        "scaling": trial.suggest_categorical("scaling", ["robust", "standard"]),
        "embedding": trial.suggest_categorical("embedding", ["periodic", "none"]),
    }
    if params["embedding"] == "periodic":
        params["n_frequencies"] = trial.suggest_int("n_frequencies", 4, 48, log=True)
        params["d_embedding"] = trial.suggest_int("d_embedding", 4, 32, log=True)
        params["sigma"] = trial.suggest_float("sigma", 0.01, 3.0, log=True)
    if profile.n_classes:
        params["label_smoothing"] = trial.suggest_float("label_smoothing", 0.0, 0.2)
    return params


def _build(params, ctx: BuildContext):
    from automl_plugins.mlp_estimator import TorchMLPClassifier, TorchMLPRegressor

    cls = TorchMLPClassifier if ctx.task.is_classification else TorchMLPRegressor
    params = dict(params)
    if not ctx.task.is_classification:
        params.pop("label_smoothing", None)
        params["learning_rate"] = params.get("learning_rate", 2e-3) * _REGRESSION_LR
    for key in ("norm", "embedding"):  # the space suggests "none" (a string): the estimator takes None
        if params.get(key) == "none":
            params[key] = None
    params = with_resource(params, _FIDELITY)
    # The first rung plans one learning-rate schedule over the full resource: the rungs
    # continue it (warm start) instead of each decaying to 0 on its own. A fresh fit above
    # the first rung (the final refit at the rung the search kept, or a rung of the
    # large-data path, which does not continue) anneals within its own epochs: a refit at
    # 20 of 60 planned epochs would otherwise end at 3/4 of the peak learning rate.
    epochs = int(params[_FIDELITY.param])
    schedule = int(_FIDELITY.high) if epochs <= _FIDELITY.low else epochs
    return cls(random_state=ctx.random_state, n_jobs=ctx.n_jobs, device=ctx.device, max_time=ctx.time_limit,
               schedule_epochs=schedule, **params)


def _resume(model, X, y, resource: int, ctx: BuildContext):
    """Train on to ``resource`` epochs (``warm_start``), within this fit's own time limit."""
    return model.set_params(max_epochs=resource, warm_start=True, max_time=ctx.time_limit).fit(X, y)


_DEFAULTS = (
    # RealMLP/TabM-like: robust scaling + smooth clip, periodic embeddings, 8 members of
    # width 96 (about the cost of one 256-wide MLP). One fit on the 75/25 split, seed 0,
    # against 4 members of width 128 at lr 2e-3 and sigma 0.5: california_housing R²
    # 0.810 -> 0.821 (20 epochs; 0.829 at the regression learning rate), phoneme AUC
    # 0.950 -> 0.954, cpu_act 0.984 -> 0.985 (40 epochs). Phoneme's AUC moves by about
    # 0.005 between neighbouring settings (one validation split of 400 rows).
    {"hidden_layers": 3, "width": 96, "k": 8, "norm": "batch", "dropout": 0.1, "learning_rate": 4e-3,
     "weight_decay": 1e-4, "batch_size": 256, "scaling": "robust", "embedding": "periodic", "n_frequencies": 16,
     "d_embedding": 16, "sigma": 1.0},
    # A plain wide MLP (one member, no embeddings): twice as fast per epoch; on letter
    # (16 small-integer columns) accuracy 0.976 against 0.957 for the first (30 epochs).
    {"hidden_layers": 3, "width": 256, "k": 1, "norm": "batch", "dropout": 0.1, "learning_rate": 2e-3,
     "weight_decay": 1e-4, "batch_size": 256, "scaling": "robust", "embedding": "none"},
    # Cheaper (2 members) with low frequencies: small or smooth data (vehicle: accuracy
    # 0.797 at sigma 0.1 against 0.722 at 0.5).
    {"hidden_layers": 3, "width": 128, "k": 2, "dropout": 0.15, "learning_rate": 2e-3, "weight_decay": 1e-3,
     "batch_size": 256, "scaling": "robust", "embedding": "periodic", "n_frequencies": 16, "d_embedding": 16,
     "sigma": 0.1},
)


def _portfolio(profile) -> tuple:
    """From 10,000 rows (``LARGE_TABLE_ROWS``) with more than two classes the plain wide MLP
    first: half the first's cost an epoch. The MLP alone at 60 s on 2 cores (AVX2): on
    letter's 15,000 rows (26 classes) the first took 32 s to 20 epochs (validation log loss
    0.160), the plain one 12 s (0.095); holdout accuracy 0.942 -> 0.968-0.976 (two runs).
    Elsewhere the first stays first: one fit of 20 epochs on the 75/25 split (seed 0, AMD
    EPYC, 2 cores), first against plain: california_housing R² 0.823 / 0.789 (16 / 8 s),
    bike_sharing 0.959 / 0.901 (14 / 6 s), diamonds 0.982 / 0.980 (36 / 20 s), nycflights
    0.924 / 0.757 (25 / 13 s), adult AUC 0.919 / 0.913 (36 / 18 s). With the plain one first,
    the MLP alone on california_housing spent 27 s of 60 on it and served the first's
    20-epoch model of the holdout's rows (0.810)."""
    if profile.n_rows >= LARGE_TABLE_ROWS and profile.n_classes > 2:
        return (_DEFAULTS[1], _DEFAULTS[0], _DEFAULTS[2])
    return _DEFAULTS


MLP = ModelSpec(
    name="mlp",
    tasks=frozenset(Task),
    search_space=_space,
    build=_build,
    default_params=_DEFAULTS,
    portfolio=_portfolio,
    fidelity=_FIDELITY,
    needs_scaling=True,
    handles_missing=False,
    handles_categorical=False,
    gpu=True,
    requires=("torch",),
    warm_start=True,
    resume=_resume,
    cost=3.0,
    # On a large table with many classes (where the boosters' defaults cost too much to lead) it
    # leads the queue: one network for all classes, the best model on letter (26 classes), whose
    # refit on all rows must still fit the budget (``automl.search.defaults.enqueue_defaults``).
    leads_many_classes=True,
    # Its fold models averaged on small tables (repeated folds): the MLP alone at 60 s, holdout
    # (75/25, seed 0), one refit -> the trial's 10 fold models: credit_g AUC 0.747 -> 0.793,
    # blood_transfusion 0.733 -> 0.746, kc1 0.820 -> 0.825, vehicle log loss 0.375 -> 0.370.
    bagged=True,
    # It keeps its best epoch and stops at its time limit (max_time): a refit that would
    # overrun is cut to the time left (automl.search.budget.CUT_REFIT_SHARE).
    stops_in_time=True,
    max_rows=None if _nvidia_driver() else CPU_MAX_ROWS,
    description=("PyTorch MLP: robust scaling with a smooth clip, periodic numeric embeddings, a TabM-style "
                 "ensemble of k members in one network, AdamW with one warm-up + cosine schedule across rungs, "
                 "best epoch kept, temperature-scaled probabilities; CUDA (mixed precision) when available."),
)


@hookimpl
def automl_register_models():
    return [MLP]


@hookimpl
def automl_register_types():
    """The MLP's weights and attributes are stored by ``_mlp_files`` (no pickle)."""
    return [Serializer(_mlp_files.TYPES, _mlp_files.dump_mlp, _mlp_files.load_mlp,
                       "PyTorch MLP: state_dict (weights_only) + attributes as JSON")]
