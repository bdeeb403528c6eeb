"""A small, seeded, deterministic trainer: SGD+Nesterov or AdamW, cosine LR, optional label smoothing.

Determinism: the model is initialised by the caller under ``torch.manual_seed``; batch order comes
from a dedicated ``torch.Generator`` seeded with ``config.seed``; CPU kernels are deterministic for a
fixed thread count.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from archfit.data.base import Split
from archfit.errors import ArchfitError


@dataclass(frozen=True)
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 0.05  # peak learning rate (SGD); warm-up for the first 1/20 of the steps
    momentum: float = 0.9
    weight_decay: float = 5e-4
    label_smoothing: float = 0.0
    optimizer: str = "sgd"  # "sgd" (Nesterov) | "adamw"
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 0 or self.batch_size < 1 or not self.lr > 0:
            raise ArchfitError(f"training settings {asdict(self)} need epochs >= 0, batch_size >= 1, lr > 0")
        if self.optimizer not in ("sgd", "adamw"):
            raise ArchfitError(f"optimizer {self.optimizer!r} is not one of ['sgd', 'adamw']")
        if not 0 <= self.label_smoothing < 1:
            raise ArchfitError(f"label smoothing {self.label_smoothing} must be in [0, 1)")


@dataclass(frozen=True)
class TrainStats:
    final_loss: float  # mean training loss of the last epoch
    seconds: float
    steps: int


LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]  # (logits, targets, inputs)


def make_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    return torch.optim.SGD(groups, lr=config.lr, momentum=config.momentum, nesterov=True)


def cosine_lr(step: int, total: int, peak: float) -> float:
    """Linear warm-up over the first 5% of steps, then cosine decay to 0."""
    warmup = max(1, total // 20)
    if step < warmup:
        return peak * (step + 1) / warmup
    return 0.5 * peak * (1 + math.cos(math.pi * (step - warmup) / max(1, total - warmup)))


def train(model: nn.Module, data: Split, config: TrainConfig, loss_fn: LossFn | None = None,
          on_epoch: Callable[[int, float], None] | None = None) -> TrainStats:
    """Train ``model`` in place on ``data`` for ``config.epochs`` epochs."""
    loss_fn = loss_fn or (lambda logits, y, _x: F.cross_entropy(logits, y, label_smoothing=config.label_smoothing))
    optimizer = make_optimizer(model, config)
    generator = torch.Generator().manual_seed(config.seed)
    n = len(data)
    steps_per_epoch = max(1, n // config.batch_size)  # drop the ragged last batch (BatchNorm needs > 1)
    total, step, epoch_loss, start = config.epochs * steps_per_epoch, 0, float("nan"), time.perf_counter()
    model.train()
    for epoch in range(config.epochs):
        order = torch.randperm(n, generator=generator)
        running = 0.0
        for i in range(steps_per_epoch):
            index = order[i * config.batch_size:(i + 1) * config.batch_size]
            x, y = data.x[index], data.y[index]
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total, config.lr)
            loss = loss_fn(model(x), y, x)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            running += float(loss.detach())
            step += 1
        epoch_loss = running / steps_per_epoch
        if not math.isfinite(epoch_loss):
            break
        if on_epoch:
            on_epoch(epoch, epoch_loss)
    return TrainStats(epoch_loss, time.perf_counter() - start, step)


EVAL_BATCH = 64  # samples per forward pass when only predicting


@torch.no_grad()
def predict(model: nn.Module, x: torch.Tensor, batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Logits for ``x`` in eval mode (the model's mode is restored afterwards).

    Why small chunks: inference speed here is set by whether a chunk's activations stay in the CPU caches,
    not by per-call overhead. On one core, random chain nets predicted 14x14 images 1.4-2.8x faster in chunks
    of 64 than of 512, and 28x28 images 2.6-3.1x faster (bench/eval_chunks.py, docs/fmnist.md); small nets
    gain less.
    """
    was_training = model.training
    model.eval()
    try:
        return torch.cat([model(x[i:i + batch_size]) for i in range(0, len(x), batch_size)])
    finally:
        model.train(was_training)


def accuracy(model: nn.Module, data: Split, batch_size: int = EVAL_BATCH) -> float:
    """Top-1 accuracy as a fraction in [0, 1]."""
    return float((predict(model, data.x, batch_size).argmax(1) == data.y).float().mean())
