"""Regularized (aging) evolution, Real et al. 2019: tournament-select a parent from the living
population, mutate one choice, add the child and retire the oldest member.

Children that were already proposed are re-drawn (then, failing that, a fresh random arch is
used): without this the population can collapse onto archs whose results are known, and every ask
is a duplicate that teaches nothing.
"""

from __future__ import annotations

from collections import deque

from archfit.space.base import Arch
from archfit.strategy import register_strategy
from archfit.strategy.base import Problem, Strategy
from archfit.trial import Trial


@register_strategy("evolution")
class RegularizedEvolution(Strategy):
    """``population``: living members; ``sample_size``: tournament size (both counts of archs)."""

    def __init__(self, population: int = 10, sample_size: int = 3) -> None:
        self.population = population
        self.sample_size = sample_size

    def start(self, problem: Problem) -> None:
        super().start(problem)
        self.alive: deque[tuple[Arch, float]] = deque(maxlen=self.population)
        self.proposed: set[str] = set()

    def ask(self) -> Arch:
        if len(self.alive) < self.population:
            arch = self.fresh_sample()
        else:
            picks = self.rng.choice(len(self.alive), size=min(self.sample_size, len(self.alive)), replace=False)
            parent = max((self.alive[i] for i in picks), key=lambda member: member[1])[0]
            arch = self.mutate_feasible(parent)
        self.proposed.add(arch.key)
        return arch

    def fresh_sample(self, tries: int = 20) -> Arch:
        arch = self.sample_feasible()
        for _ in range(tries):
            if arch.key not in self.proposed:
                break
            arch = self.sample_feasible()
        return arch

    def mutate_feasible(self, parent: Arch, tries: int = 50) -> Arch:
        space = self.problem.space
        for _ in range(tries):
            child = space.mutate(parent, self.rng)
            if child.key not in self.proposed and self.problem.feasible(child):
                return child
        return self.fresh_sample()

    def tell(self, trial: Trial) -> None:
        value = self.value(trial)
        if value is not None:
            self.alive.append((trial.arch, value))
