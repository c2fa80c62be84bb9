"""Runtime helpers of the PyTorch MLP estimators: the device, torch's CPU threads, the
learning-rate schedule, mixed precision, the optimizer (AdamW), and a one-dimensional
minimiser (the temperature)."""

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


class AdamW:
    """AdamW as ``torch.optim.AdamW`` computes it (single-tensor path, no amsgrad), with its
    ``param_groups`` / ``zero_grad`` / ``step`` interface (``torch.amp.GradScaler`` steps it).

    Our own because every ``torch.optim`` optimizer imports ``torch._dynamo`` (sympy,
    inductor: 820 modules) when built: 71 MB of resident memory in every fitting process
    that trains an MLP, measured on torch 2.13, for nothing we use.
    """

    def __init__(self, param_groups: list[dict], lr: float, betas=(0.9, 0.999), eps: float = 1e-8):
        self.param_groups = [{"lr": lr, "betas": betas, "eps": eps, **group, "params": list(group["params"])}
                             for group in param_groups]
        self.state: dict[torch.Tensor, dict] = {}

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.zero_()

    @torch.no_grad()
    def step(self) -> None:
        for group in self.param_groups:
            lr, (beta1, beta2), eps, decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state.get(p)
                if state is None:
                    state = self.state[p] = {"step": 0, "exp_avg": torch.zeros_like(p),
                                             "exp_avg_sq": torch.zeros_like(p)}
                state["step"] += 1
                t, m, v = state["step"], state["exp_avg"], state["exp_avg_sq"]
                p.mul_(1 - lr * decay)
                m.lerp_(p.grad, 1 - beta1)
                v.mul_(beta2).addcmul_(p.grad, p.grad, value=1 - beta2)
                denom = (v.sqrt() / math.sqrt(1 - beta2 ** t)).add_(eps)
                p.addcdiv_(m, denom, value=-lr / (1 - beta1 ** t))


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
