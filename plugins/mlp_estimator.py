"""PyTorch MLP estimators for tabular data with the scikit-learn API.

The model expects dense numeric features (the core's preprocessing imputes, one-hot
encodes and standardises). The network (``_mlp_net``) scales each column robustly with a
smooth clip, embeds numeric columns periodically, and trains ``k`` members at once
(TabM-mini: shared hidden layers, one input adapter and one head per member), whose
predictions are averaged. Training: AdamW, a linear warm-up then cosine decay defined on
``schedule_epochs`` (the search's planned total), early stopping on an internal validation
split with the best weights restored, then (classification) a temperature fitted on that
split. With ``warm_start=True`` a fitted model trains on up to ``max_epochs`` epochs in
total (the successive-halving rungs), carrying its optimizer state and the position in the
schedule. On CUDA the training set is moved to the device once and autocast (bf16, else
fp16) is used. Pickles and model files (``_mlp_files``: no pickle there) hold CPU tensors,
so a model trained on a GPU loads on a CPU-only machine.
"""

from __future__ import annotations

import math
import time
from abc import ABC, abstractmethod

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from automl_plugins._mlp_net import embedded_columns, network, robust_statistics
from automl_plugins._mlp_runtime import AdamW, amp_dtype, lr_factor, as_tensor, torch_threads, golden_minimum, resolve_device

# Rows per forward pass when evaluating and predicting. On the CPU a pass's activations are
# freed to the C heap, which keeps them: 8,192 rows of 8 members x 96 units took 80 MB more
# peak memory than 1,024 rows (24,000 x 108 inputs, predicting 12,000), at the same speed.
_CHUNK = {"cpu": 1024, "cuda": 8192}
_MIN_STEPS = 8  # on small data batches shrink so that an epoch has at least this many steps
_TOL = 1e-4  # a validation loss must improve by this much to reset the patience


class _TorchMLP(BaseEstimator, ABC):
    """Shared training loop; subclasses encode the target and choose the loss.

    Parameters
    ----------
    hidden_layers, width : depth and width of the hidden layers.
    activation : "relu", "silu" or "gelu".
    norm : "batch", "layer" or None (normalisation after each hidden linear layer).
    dropout : dropout rate after each hidden block.
    learning_rate, weight_decay : AdamW's peak learning rate and decoupled weight decay
        (not applied to biases, normalisation parameters and embedding frequencies).
    batch_size : rows per step (smaller on small data, see ``_MIN_STEPS``).
    max_epochs : epochs in total; with ``warm_start`` a fitted model continues up to it.
    schedule_epochs : the epochs the learning-rate schedule is planned for (None:
        ``max_epochs``); the search sets its full resource, so every rung continues one schedule.
    patience : epochs without a better validation loss before training stops.
    validation_fraction : share of the rows held out for early stopping and the temperature.
    k : members of the efficient ensemble (TabM-mini); 1 is a plain MLP.
    scaling : "robust" (median / IQR and a smooth clip), "standard" (no clip) or None.
    embedding : "periodic" (numeric columns embedded) or None.
    n_frequencies, d_embedding, sigma : periodic features per column, embedding size per
        column, standard deviation of the initial frequencies.
    warm_start : continue training a fitted model instead of starting again.
    max_time : seconds after which the epoch loop stops (best weights kept); None: no limit.
    device : "auto" (CUDA when available), "cpu" or "cuda".
    n_jobs : at most this many CPU threads for torch (-1: all cores); small networks use fewer.
    random_state : seed of the initialisation, shuffling, dropout and validation split.

    Fitted attributes: ``module_`` (the ``TabularNet``), ``n_epochs_`` (epochs trained in
    total), ``best_epoch_`` and ``best_loss_`` (restored), ``history_`` (validation loss per
    epoch), ``stopped_early_``, ``bad_epochs_`` (epochs since the best one: the patience runs
    on across warm starts), ``device_`` (where it trained), ``n_features_in_``.
    """

    def __init__(self, hidden_layers=3, width=128, activation="relu", norm="batch", dropout=0.1,
                 learning_rate=2e-3, weight_decay=1e-4, batch_size=256, max_epochs=60, schedule_epochs=None,
                 patience=16, validation_fraction=0.1, k=4, scaling="robust", embedding="periodic",
                 n_frequencies=16, d_embedding=16, sigma=0.5, warm_start=False, max_time=None, device="auto",
                 n_jobs=1, random_state=None):
        self.hidden_layers = hidden_layers
        self.width = width
        self.activation = activation
        self.norm = norm
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.schedule_epochs = schedule_epochs
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.k = k
        self.scaling = scaling
        self.embedding = embedding
        self.n_frequencies = n_frequencies
        self.d_embedding = d_embedding
        self.sigma = sigma
        self.warm_start = warm_start
        self.max_time = max_time
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- subclass hooks ------------------------------------------------------------
    @abstractmethod
    def _encode_target(self, y, fitted: bool) -> np.ndarray:
        """The training target as the network sees it (class indices or a standardised value)."""

    @abstractmethod
    def _member_loss(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Training loss of the members' outputs ``(batch, k, n_out)``."""

    @abstractmethod
    def _ensemble_loss(self, out: torch.Tensor, target: torch.Tensor) -> float:
        """Validation loss of the averaged prediction (no label smoothing)."""

    def _stratify(self, target: np.ndarray):
        return None

    def _calibrate(self, out: torch.Tensor, target: torch.Tensor) -> None:
        """Classification fits ``temperature_`` here on the validation outputs."""

    # -- fit ---------------------------------------------------------------------
    def fit(self, X, y):
        """Train on ``X`` (numeric, DataFrame or array) and ``y``; see ``warm_start``."""
        continuing = bool(self.warm_start) and hasattr(self, "module_")
        X, y = validate_data(self, X, y, reset=not continuing, dtype=np.float32)
        if len(X) < 2:
            raise ValueError(f"n_samples={len(X)}: at least 2 rows are needed to train.")
        target = self._encode_target(y, fitted=continuing)
        if not continuing:
            self.seed_ = int(check_random_state(self.random_state).randint(np.iinfo(np.int32).max))
            embed = embedded_columns(X) if self.embedding == "periodic" else []
            self.architecture_ = dict(
                n_in=X.shape[1], n_out=self.n_outputs_, hidden_layers=int(self.hidden_layers),
                width=int(self.width), activation=self.activation, norm=self.norm, dropout=float(self.dropout),
                k=int(self.k), scaling=self.scaling, embedding=self.embedding if embed else None,
                embed_columns=embed, n_frequencies=int(self.n_frequencies), d_embedding=int(self.d_embedding),
                sigma=float(self.sigma),
            )
            self.n_epochs_, self.best_epoch_, self.best_loss_ = 0, 0, math.inf
            self.history_, self.stopped_early_, self.bad_epochs_ = [], False, 0
            self.temperature_ = 1.0
            self.__dict__.pop("optimizer_", None)
        device = resolve_device(self.device)
        self.device_ = str(device)
        cuda = [device.index or 0] if device.type == "cuda" else []
        with torch.random.fork_rng(devices=cuda):
            torch.manual_seed(self.seed_ + self.n_epochs_)
            if not continuing:
                self.module_ = network(**self.architecture_)
                if self.module_.scale is not None:
                    center, scale = robust_statistics(X)
                    if self.scaling != "robust":
                        center, scale = X.mean(axis=0), np.where(X.std(axis=0) > 1e-8, X.std(axis=0), 1.0)
                    self.module_.scale.center.copy_(torch.as_tensor(center, dtype=torch.float32))
                    self.module_.scale.scale.copy_(torch.as_tensor(scale, dtype=torch.float32))
            self.module_.to(device)
            epochs = 0 if self.stopped_early_ else int(self.max_epochs) - self.n_epochs_
            if epochs > 0:
                self._train(X, target, epochs, device)
        return self

    def _split(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Seeded (train, validation) row indices; no validation rows on tiny data."""
        idx = np.arange(len(target))
        n_val = int(self.validation_fraction * len(target))
        if n_val < 2 or len(target) - n_val < 2:
            return idx, idx[:0]
        stratify = self._stratify(target)
        train, val = train_test_split(idx, test_size=n_val, random_state=self.seed_, stratify=stratify)
        return np.sort(train), np.sort(val)

    def _optimizer(self, device: torch.device) -> AdamW:
        """AdamW, carried across warm starts (its moments continue with the schedule)."""
        kept = getattr(self, "optimizer_", None)
        params = list(self.module_.parameters())
        if kept is not None and all(p.device == device for p in params):
            return kept
        decay = [p for n, p in self.module_.named_parameters() if p.ndim > 1 and "frequencies" not in n]
        ids = {id(p) for p in decay}
        rest = [p for p in params if id(p) not in ids]
        return AdamW(
            [{"params": decay, "weight_decay": self.weight_decay}, {"params": rest, "weight_decay": 0.0}],
            lr=self.learning_rate,
        )

    def _train(self, X: np.ndarray, target: np.ndarray, epochs: int, device: torch.device) -> None:
        started = time.perf_counter()
        train, val = self._split(target)
        # The data go to the GPU once when they fit in a quarter of its free memory (else
        # they stay on the host and each batch is copied).
        whole = device.type == "cuda" and 4 * (X.nbytes + target.nbytes) < torch.cuda.mem_get_info(device)[0]
        home = device if device.type == "cpu" or whole else torch.device("cpu")
        Xt, yt = as_tensor(X).to(home), as_tensor(target).to(home)
        X_train, y_train = Xt[train], yt[train]
        X_val, y_val = Xt[val], yt[val]

        n = len(train)
        batch = max(1, min(int(self.batch_size), max(16, n // _MIN_STEPS), n))
        n_batches = max(1, round(n / batch))
        planned = max(int(self.schedule_epochs or self.max_epochs), 1)
        total = planned * n_batches
        warmup = max(1, total // 20)
        step = self.n_epochs_ * n_batches  # the schedule continues where the last fit ended
        module = self.module_
        optimizer = self.optimizer_ = self._optimizer(device)
        amp = amp_dtype(device)
        scaler = torch.amp.GradScaler("cuda", enabled=amp is torch.float16)
        best = {k: v.detach().clone() for k, v in module.state_dict().items()}
        bad = getattr(self, "bad_epochs_", 0)  # patience runs on across warm starts
        # On CUDA the CPU only feeds the GPU: one thread, so CPU models beside it keep theirs.
        with torch_threads(self.n_jobs, 0 if device.type == "cuda" else batch * module.macs_per_row()):
            for _ in range(epochs):
                module.train()
                for rows in torch.randperm(n, device=home).tensor_split(n_batches):
                    xb, yb = X_train[rows].to(device), y_train[rows].to(device)
                    for group in optimizer.param_groups:
                        group["lr"] = self.learning_rate * lr_factor(step, warmup, total)
                    with torch.autocast(device.type, dtype=amp, enabled=amp is not None):
                        loss = self._member_loss(module(xb).float(), yb)
                    optimizer.zero_grad(set_to_none=True)
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    step += 1
                self.n_epochs_ += 1
                score = self._ensemble_loss(self._forward(X_val, device), y_val.to(device)) if len(val) else math.nan
                self.history_.append(score)
                if not len(val) or score < self.best_loss_ - _TOL:
                    self.best_loss_, self.best_epoch_, bad = score, self.n_epochs_, 0
                    best = {k: v.detach().clone() for k, v in module.state_dict().items()}
                else:
                    bad += 1
                    if bad >= self.patience:
                        self.stopped_early_ = True
                        break
                if self.max_time is not None and time.perf_counter() - started > self.max_time:
                    break
            self.bad_epochs_ = bad
            module.load_state_dict(best)
            module.eval()
            if len(val):
                self._calibrate(self._forward(X_val, device), y_val.to(device))

    # -- predict -----------------------------------------------------------------
    def _forward(self, X: torch.Tensor, device: torch.device) -> torch.Tensor:
        """Members' outputs ``(rows, k, n_out)`` (float32, on ``device``) in evaluation mode."""
        self.module_.eval()
        amp = amp_dtype(device)
        with torch.inference_mode(), torch.autocast(device.type, dtype=amp, enabled=amp is not None):
            chunks = X.split(_CHUNK.get(device.type, _CHUNK["cuda"]))
            return torch.cat([self.module_(chunk.to(device)).float() for chunk in chunks])

    def _predict_raw(self, X) -> torch.Tensor:
        check_is_fitted(self, "module_")
        X = validate_data(self, X, reset=False, dtype=np.float32)
        device = next(self.module_.parameters()).device
        with torch_threads(self.n_jobs, min(len(X), _CHUNK["cpu"]) * self.module_.macs_per_row()):
            return self._forward(as_tensor(X), device).cpu()

    # -- pickling ----------------------------------------------------------------
    def __getstate__(self):
        state = {k: v for k, v in super().__getstate__().items() if k != "optimizer_"}
        if "module_" in state:  # CPU tensors: loads without CUDA
            state["module_"] = {k: v.detach().cpu() for k, v in self.module_.state_dict().items()}
        return state

    def __setstate__(self, state):
        weights = state.get("module_")
        super().__setstate__(state)
        if weights is not None:
            with torch.random.fork_rng(devices=[]):  # building the network draws initial weights
                self.module_ = network(**self.architecture_)
            self.module_.load_state_dict(weights)
            self.module_.eval()


def _mean_proba(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """The members' softmax probabilities (at ``temperature``) averaged: ``(rows, classes)``."""
    return torch.softmax(logits / temperature, dim=-1).mean(dim=1)


class TorchMLPClassifier(ClassifierMixin, _TorchMLP):
    """MLP classifier (softmax cross-entropy per member, optional label smoothing; the
    members' probabilities averaged, at the temperature fitted on the validation rows)."""

    def __init__(self, hidden_layers=3, width=128, activation="relu", norm="batch", dropout=0.1,
                 learning_rate=2e-3, weight_decay=1e-4, batch_size=256, max_epochs=60, schedule_epochs=None,
                 patience=16, validation_fraction=0.1, k=4, scaling="robust", embedding="periodic",
                 n_frequencies=16, d_embedding=16, sigma=0.5, warm_start=False, max_time=None, device="auto",
                 n_jobs=1, random_state=None, label_smoothing=0.0, calibrate=True):
        super().__init__(hidden_layers, width, activation, norm, dropout, learning_rate, weight_decay,
                         batch_size, max_epochs, schedule_epochs, patience, validation_fraction, k, scaling,
                         embedding, n_frequencies, d_embedding, sigma, warm_start, max_time, device, n_jobs,
                         random_state)
        self.label_smoothing = label_smoothing
        self.calibrate = calibrate

    def _encode_target(self, y, fitted):
        check_classification_targets(y)
        if not fitted:
            self.classes_ = np.unique(y)
            self.n_outputs_ = len(self.classes_)
        elif not np.isin(y, self.classes_).all():
            raise ValueError("warm_start: y has classes the fitted model has not seen.")
        return np.searchsorted(self.classes_, y).astype(np.int64)

    def _stratify(self, target):
        counts = np.bincount(target)
        counts = counts[counts > 0]
        n_val = int(self.validation_fraction * len(target))
        ok = counts.min() >= 2 and len(counts) <= min(n_val, len(target) - n_val)
        return target if ok else None

    def _member_loss(self, out, target):
        k = out.shape[1]
        return nn.functional.cross_entropy(out.flatten(0, 1), target.repeat_interleave(k),
                                           label_smoothing=float(self.label_smoothing))

    def _ensemble_loss(self, out, target, temperature=1.0):
        proba = _mean_proba(out, temperature).clamp_min(1e-12)
        return float(nn.functional.nll_loss(proba.log(), target))

    def _calibrate(self, out, target):
        """Temperature scaling: the temperature (0.05 to 20, golden-section search on its
        logarithm) with the least validation log loss of the averaged probabilities."""
        if not self.calibrate:
            self.temperature_ = 1.0
            return
        loss = lambda log_t: self._ensemble_loss(out, target, math.exp(log_t))  # noqa: E731
        best = golden_minimum(loss, math.log(0.05), math.log(20.0))
        self.temperature_ = math.exp(best) if loss(best) < loss(0.0) else 1.0

    def predict_proba(self, X) -> np.ndarray:
        proba = _mean_proba(self._predict_raw(X), getattr(self, "temperature_", 1.0)).numpy().astype(np.float64)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        proba = self.predict_proba(X)  # checks that the model is fitted first
        return self.classes_[proba.argmax(axis=1)]


class TorchMLPRegressor(RegressorMixin, _TorchMLP):
    """MLP regressor on the standardised target (mean squared error per member; the
    members' predictions averaged), inverted at predict."""

    def _encode_target(self, y, fitted):
        y = np.asarray(y, dtype=np.float64)
        if not fitted:
            self.y_mean_ = float(y.mean())
            self.y_scale_ = float(y.std()) or 1.0
            self.n_outputs_ = 1
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)[:, None]

    def _member_loss(self, out, target):
        return nn.functional.mse_loss(out, target[:, None, :].expand_as(out))

    def _ensemble_loss(self, out, target):
        return float(nn.functional.mse_loss(out.mean(dim=1), target))

    def predict(self, X) -> np.ndarray:
        return self._predict_raw(X).mean(dim=1)[:, 0].numpy().astype(np.float64) * self.y_scale_ + self.y_mean_
