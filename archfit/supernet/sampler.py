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

from archfit.errors import ArchfitError
from archfit.registry import Registry
from archfit.space.base import Arch

SAMPLERS = ("uniform", "sandwich", "cafenet", "close")  # built-ins, one module each: sampler_<name>.py


@dataclass(frozen=True)
class Path:
    """One sub-network visited in a step; ``teacher`` paths are trained on labels and distil the rest."""

    arch: Arch
    loss: str = "label"  # "label" | "distill"
    teacher: bool = False


MAX_TRIES = 20_000  # random archs drawn per budget-aware path before giving up (one feasible in 2 % is ~50)


class Sampler(ABC):
    """Base of every rule. ``start`` is called once before training, ``begin_epoch`` every epoch.

    Rules draw their random paths with ``draw``. After ``restrict(feasible)`` it draws only archs that fit a
    budget (rejection sampling): a budgeted search can never choose the others, and training them costs
    steps (on Fashion-MNIST at 1.5 MFLOPs, 98 % of uniform chain paths were over budget and 3.5x as costly).
    The fixed ends of a rule (the sandwich's largest and smallest) are kept as they are.
    """

    name: ClassVar[str] = ""
    max_level: ClassVar[int] = 0  # weight banks the supernet must allocate (CLOSE)
    sorts_channels: ClassVar[bool] = True  # whether importance sorting may reorder channels
    feasible: Callable[[Arch], bool] | None = None
    restriction: str = ""  # the restriction in words, e.g. "flops <= 1.5M"

    def restrict(self, feasible: Callable[[Arch], bool] | None, restriction: str = "") -> Sampler:
        """Draw random paths only among archs for which ``feasible(arch)`` holds (None: the whole space)."""
        self.feasible, self.restriction = feasible, restriction if feasible is not None else ""
        return self

    def draw(self) -> Arch:
        """One random arch of the space, uniformly among the feasible ones when restricted."""
        if self.feasible is None:
            return self.space.sample(self.rng)
        for _ in range(MAX_TRIES):
            arch = self.space.sample(self.rng)
            if self.feasible(arch):
                return arch
        raise ArchfitError(f"supernet paths within the budget ({self.restriction}): none of {MAX_TRIES:,} random "
                           f"archs fits; widen the budget or train every path (--supernet-paths all)")

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
        return self.name + self.restriction_note()

    def restriction_note(self) -> str:
        return f", random paths within the budget ({self.restriction})" if self.feasible is not None else ""


S = TypeVar("S", bound=type[Sampler])
_SAMPLERS: Registry[type[Sampler]] = Registry(
    "supernet sampler", tuple(f"archfit.supernet.sampler_{name}" for name in SAMPLERS))


def register_sampler(name: str) -> Callable[[S], S]:
    return _SAMPLERS.register(name)


def create_sampler(name: str, **params: Any) -> Sampler:
    """A sampling rule by name: uniform | sandwich | cafenet | close."""
    return _SAMPLERS.create(name, **params)
