"""Runtime helpers of the PyTorch MLP estimators: the device, torch's CPU threads, the
learning-rate schedule, mixed precision, and a one-dimensional minimiser (the temperature)."""

from __future__ import annotations

import contextlib
import math
import os

import numpy as np
import torch

# Multiply-adds of one forward pass per CPU thread: below it a second thread costs more in
# synchronisation than it saves (measured on 2 cores: 3x256 units, batch 256, runs 1.7x
# faster on one thread than on two).
_WORK_PER_THREAD = 1e8


def resolve_device(device: str) -> torch.device:
    """``"auto"``: CUDA when available, else the CPU; otherwise the named device."""
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    return torch.device(device)


@contextlib.contextmanager
def torch_threads(n_jobs: int | None, work: float):
    """torch's CPU threads: at most ``n_jobs`` (-1: all cores), one per ``_WORK_PER_THREAD``
    multiply-adds of a forward pass (``work``); the previous setting is restored after."""
    limit = (os.cpu_count() or 1) if n_jobs in (None, -1) else max(1, int(n_jobs))
    before = torch.get_num_threads()
    torch.set_num_threads(min(limit, max(1, int(work // _WORK_PER_THREAD))))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def as_tensor(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(array if array.flags.writeable else array.copy())


def lr_factor(step: int, warmup: int, total: int) -> float:
    """Learning-rate factor: linear warm-up over ``warmup`` steps, then cosine decay to 0 at ``total``."""
    if step < warmup:
        return (step + 1) / warmup
    return 0.5 * (1 + math.cos(math.pi * min(1.0, (step - warmup) / max(total - warmup, 1))))


def amp_dtype(device: torch.device):
    """Mixed precision on CUDA (bf16 where supported, else fp16); full precision on the CPU."""
    if device.type != "cuda":
        return None
    return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16


def golden_minimum(f, lo: float, hi: float, iterations: int = 30) -> float:
    """The minimum of a unimodal ``f`` on ``[lo, hi]`` by golden-section search."""
    ratio = (math.sqrt(5) - 1) / 2
    a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
    fa, fb = f(a), f(b)
    for _ in range(iterations):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - ratio * (hi - lo)
            fa = f(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + ratio * (hi - lo)
            fb = f(b)
    return (lo + hi) / 2
