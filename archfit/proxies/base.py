"""What every proxy shares: the minibatch record, the ``Proxy`` interface, and small model helpers."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from archfit.errors import ArchfitError

WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)  # the layers whose weights proxies sum over
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# Rectifier-like activations: their binary code is "pre-activation > 0" (NASWOT, SWAP).
ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.GELU, nn.SiLU, nn.Hardswish, nn.ELU)


@dataclass(frozen=True)
class Batch:
    """One minibatch: ``x`` float32 (N, *input_shape), ``y`` int64 class indices (N,), ``source`` says
    where it came from (e.g. ``"fashion-mnist train, seed 0"`` or ``"gaussian"``)."""

    x: torch.Tensor
    y: torch.Tensor
    num_classes: int
    source: str = "unknown"

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])


def random_batch(input_shape: tuple[int, ...], num_classes: int, size: int = 32, seed: int = 0) -> Batch:
    """Standard-normal inputs and uniform random labels: for data-free use and for tests."""
    if size < 2 or num_classes < 2:
        raise ArchfitError(f"random batch: size {size} and num_classes {num_classes} must be >= 2")
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(size, *input_shape, generator=gen)
    y = torch.randint(num_classes, (size,), generator=gen)
    return Batch(x, y, num_classes, f"gaussian noise, random labels, seed {seed}")


def data_batch(x: torch.Tensor, y: torch.Tensor, num_classes: int, size: int = 32, seed: int = 0,
               channels: int | None = None, source: str = "data") -> Batch:
    """A seeded random minibatch of ``size`` rows of (x, y); ``channels`` repeats a 1-channel input to
    that many channels (Fashion-MNIST into a 3-channel CIFAR stem)."""
    if not 2 <= size <= len(y):
        raise ArchfitError(f"batch size {size} must be between 2 and the {len(y)} examples available")
    pick = torch.from_numpy(np.sort(np.random.default_rng(seed).choice(len(y), size, replace=False)))
    xb, yb = x[pick].float(), y[pick].long()
    if channels is not None and channels != xb.shape[1]:
        if xb.shape[1] != 1:
            raise ArchfitError(f"cannot repeat a {xb.shape[1]}-channel input to {channels} channels")
        xb = xb.repeat(1, channels, *([1] * (xb.dim() - 2)))
    return Batch(xb, yb, num_classes, f"{source}, {size} examples, seed {seed}")


class Proxy:
    """A zero-cost proxy. ``score(model, batch)`` may modify ``model`` (callers pass a copy) and returns
    a float, higher = better. ``needs`` is one of ``"shape"`` (only the input shape: data-free),
    ``"inputs"`` (x, no labels) or ``"labels"`` (x and y: a loss is back-propagated)."""

    name: str = "?"
    needs: str = "labels"

    def score(self, model: nn.Module, batch: Batch) -> float:
        raise NotImplementedError


def weighted_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, WEIGHTED)]


def loss_backward(model: nn.Module, batch: Batch) -> torch.Tensor:
    """Cross-entropy of the model in training mode (BatchNorm uses batch statistics, as at the start of
    training), back-propagated into the parameters' ``.grad``; returns the loss."""
    model.train()
    model.zero_grad(set_to_none=True)
    loss = F.cross_entropy(model(batch.x), batch.y)
    loss.backward()
    return loss


@contextmanager
def hooks(modules: list[nn.Module], pre=None, post=None) -> Iterator[None]:
    """Forward pre-hooks (``pre(module, inputs)``) and/or hooks (``post(module, inputs, output)``) on
    ``modules`` for the duration of the block. Pre-hooks see an activation's input before an in-place
    activation overwrites it."""
    handles = []
    for module in modules:
        if pre is not None:
            handles.append(module.register_forward_pre_hook(pre))
        if post is not None:
            handles.append(module.register_forward_hook(post))
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()


def activations(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, ACTIVATIONS)]
