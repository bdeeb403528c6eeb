"""``Estimator``: how good is an architecture? Train it, look it up, inherit weights, or predict."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from archfit.space.base import Arch


@dataclass(frozen=True)
class Estimate:
    """Metrics of one architecture (higher ``metric`` is better), at a stated fidelity."""

    metrics: dict[str, float]
    fidelity: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0


class Estimator(ABC):
    """``estimate(arch) -> Estimate``. ``metric`` names the value strategies maximise."""

    metric: str = "valid_acc"
    # Equal scores: False picks the cheaper arch (the score is the real metric at some fidelity); True the
    # costlier within the budget (a coarse proxy whose ties say nothing, where capacity is the better bet).
    larger_on_tie: bool = False

    @abstractmethod
    def estimate(self, arch: Arch) -> Estimate: ...

    def describe(self) -> str:
        return type(self).__name__
