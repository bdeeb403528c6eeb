"""Regularized (aging) evolution, Real et al. 2019: tournament-select a parent from the living
population, mutate one choice, add the child and retire the oldest member."""

from __future__ import annotations

from collections import deque

from archfit.run.trial import Trial
from archfit.space.base import Arch
from archfit.strategy import register_strategy
from archfit.strategy.base import Problem, Strategy


@register_strategy("evolution")
class RegularizedEvolution(Strategy):
    """``population``: living members; ``sample_size``: tournament size (both counts of archs)."""

    def __init__(self, population: int = 10, sample_size: int = 3) -> None:
        self.population = population
        self.sample_size = sample_size

    def start(self, problem: Problem) -> None:
        super().start(problem)
        self.alive: deque[tuple[Arch, float]] = deque(maxlen=self.population)
        self.asked = 0

    def ask(self) -> Arch:
        self.asked += 1
        if len(self.alive) < self.population:
            return self.sample_feasible()
        picks = self.rng.choice(len(self.alive), size=min(self.sample_size, len(self.alive)), replace=False)
        parent = max((self.alive[i] for i in picks), key=lambda member: member[1])[0]
        return self.mutate_feasible(parent)

    def mutate_feasible(self, parent: Arch, tries: int = 50) -> Arch:
        space = self.problem.space
        child = space.mutate(parent, self.rng)
        for _ in range(tries):
            if self.problem.feasible(child):
                return child
            child = space.mutate(parent, self.rng)
        return self.sample_feasible()

    def tell(self, trial: Trial) -> None:
        value = self.value(trial)
        if value is not None:
            self.alive.append((trial.arch, value))
