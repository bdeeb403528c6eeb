"""``Strategy``: an ask/tell plug-in. The orchestrator asks for an arch, evaluates it, tells the result.

A strategy is bound once to a ``Problem`` (space, feasibility test, seed); it must be deterministic
given that seed and the sequence of results told, which is what makes resumed runs replay exactly.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from archfit.cost.budget import Cost
from archfit.space.base import Arch, Space
from archfit.trial import Trial


@dataclass(frozen=True)
class Problem:
    """What a strategy may know: the space, which archs fit the budget, their cost, the objective."""

    space: Space
    metric: str  # maximised
    feasible: Callable[[Arch], bool]
    cost: Callable[[Arch], Cost]
    cost_metric: str = "flops"  # minimised by multi-objective strategies
    seed: int = 0


class Strategy(ABC):
    """Subclasses implement ``ask`` and ``tell``; constructors only store hyper-parameters."""

    name: ClassVar[str] = ""

    def start(self, problem: Problem) -> None:
        """Bind to a problem; resets all state so a strategy object can be reused."""
        self.problem = problem
        self.rng = np.random.default_rng(problem.seed)

    @abstractmethod
    def ask(self) -> Arch:
        """The next architecture to evaluate (canonical; the orchestrator rejects infeasible ones)."""

    def tell(self, trial: Trial) -> None:
        """The result of an arch returned by ``ask`` (state COMPLETE or FAILED)."""

    # helpers shared by strategies
    def value(self, trial: Trial) -> float | None:
        return trial.value(self.problem.metric)

    def sample_feasible(self, tries: int = 1000) -> Arch:
        """A uniform sample among archs that fit the budget (rejection sampling)."""
        space = self.problem.space
        arch = space.sample(self.rng)
        for _ in range(tries):
            if self.problem.feasible(arch):
                return arch
            arch = space.sample(self.rng)
        return arch
