"""Sampling rules as plug-ins of one training loop: ``paths(step, x, y) -> list[Path]``.

A rule decides which sub-networks one training step visits and how each is supervised: ``"label"``
(cross-entropy) or ``"distill"`` (match the soft predictions of the step's ``teacher`` path, in-place
distillation). Register a rule with ``@register_sampler(name)``; ``create_sampler(name)`` builds it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

import numpy as np
import torch

from archfit.registry import Registry
from archfit.space.base import Arch

SAMPLERS = ("uniform", "sandwich", "cafenet", "close")  # built-ins, one module each: sampler_<name>.py


@dataclass(frozen=True)
class Path:
    """One sub-network visited in a step; ``teacher`` paths are trained on labels and distil the rest."""

    arch: Arch
    loss: str = "label"  # "label" | "distill"
    teacher: bool = False


class Sampler(ABC):
    """Base of every rule. ``start`` is called once before training, ``begin_epoch`` every epoch."""

    name: ClassVar[str] = ""
    max_level: ClassVar[int] = 0  # weight banks the supernet must allocate (CLOSE)
    sorts_channels: ClassVar[bool] = True  # whether importance sorting may reorder channels

    def start(self, supernet, total_steps: int, steps_per_epoch: int) -> None:
        self.supernet, self.space = supernet, supernet.space
        self.total_steps, self.steps_per_epoch = total_steps, steps_per_epoch
        self.rng = np.random.default_rng(0)

    def begin_epoch(self, epoch: int, seed: int) -> None:
        """Reseed per epoch, so a run resumed at an epoch boundary samples exactly what it would have."""
        self.rng = np.random.default_rng([seed, epoch])

    @abstractmethod
    def paths(self, step: int, x: torch.Tensor, y: torch.Tensor) -> list[Path]: ...

    def describe(self) -> str:
        return self.name


S = TypeVar("S", bound=type[Sampler])
_SAMPLERS: Registry[type[Sampler]] = Registry(
    "supernet sampler", tuple(f"archfit.supernet.sampler_{name}" for name in SAMPLERS))


def register_sampler(name: str) -> Callable[[S], S]:
    return _SAMPLERS.register(name)


def create_sampler(name: str, **params: Any) -> Sampler:
    """A sampling rule by name: uniform | sandwich | cafenet | close."""
    return _SAMPLERS.create(name, **params)
