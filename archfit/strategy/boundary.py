"""Regularized evolution on the budget's boundary, for spaces whose choice values are ordered by cost.

When every choice's values are ascending in cost (channel counts, widths, bit-widths) and more is never
worse, an architecture that leaves budget unused is dominated: some choice could grow for free. So every
proposal is *repaired onto the boundary* — random choices shrink one value at a time until the arch
fits, then random choices grow while it still fits — and the search spends its evaluations where the
answer is. Otherwise this is ``RegularizedEvolution`` (tournament, aging population), with children made
by uniform crossover of two tournament winners and a per-choice mutation rate, since a one-choice
mutation is mostly undone by the repair. ``seeds`` are asked first (e.g. the uniform-ratio widths that
one-shot pruning would pick, so the search starts from that answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from archfit.space.base import Arch, Space, Value
from archfit.strategy import register_strategy
from archfit.strategy.base import Problem
from archfit.strategy.evolution import RegularizedEvolution


def to_boundary(space: Space, arch: Mapping[str, Value] | None, feasible: Callable[[Arch], bool],
                rng: np.random.Generator) -> Arch:
    """``arch`` (default: every choice at its last, costliest value) shrunk one value of a random choice at
    a time until ``feasible``, then random choices grown while still ``feasible``. If nothing fits, the
    smallest values are returned (the caller's feasibility check rejects them)."""
    choices = space.choices
    start = arch or {name: values[-1] for name, values in choices.items()}
    index = {name: values.index(start[name]) for name, values in choices.items()}

    def current() -> Arch:
        return Arch({name: choices[name][i] for name, i in index.items()})

    while not feasible(current()):
        shrinkable = [name for name, i in index.items() if i > 0]
        if not shrinkable:
            break
        index[shrinkable[rng.integers(len(shrinkable))]] -= 1
    for name in rng.permutation(list(choices)):
        name = str(name)
        while index[name] + 1 < len(choices[name]):
            index[name] += 1
            if not feasible(current()):
                index[name] -= 1
                break
    return space.canonical(current())


@register_strategy("boundary")
class BoundaryEvolution(RegularizedEvolution):
    """``population``/``sample_size`` as in regularized evolution; ``mutation``: probability that each choice
    is redrawn in a child; ``crossover``: probability that a child mixes two parents; ``seeds``: archs
    (mappings) asked first, as given."""

    def __init__(self, population: int = 12, sample_size: int = 3, mutation: float = 0.3, crossover: float = 0.5,
                 seeds: Sequence[Mapping[str, Value]] = ()) -> None:
        super().__init__(population, sample_size)
        self.mutation, self.crossover, self.seeds = mutation, crossover, tuple(seeds)

    def start(self, problem: Problem) -> None:
        super().start(problem)
        self.pending = [problem.space.validate(seed) for seed in self.seeds]

    def ask(self) -> Arch:
        if self.pending:
            arch = self.pending.pop(0)
            self.proposed.add(arch.key)
            return arch
        return super().ask()

    def fresh_sample(self, tries: int = 20) -> Arch:
        arch = to_boundary(self.problem.space, None, self.problem.feasible, self.rng)
        for _ in range(tries):
            if arch.key not in self.proposed:
                break
            arch = to_boundary(self.problem.space, None, self.problem.feasible, self.rng)
        return arch

    def mutate_feasible(self, parent: Arch, tries: int = 50) -> Arch:
        space = self.problem.space
        for _ in range(tries):
            child = dict(parent)
            if self.rng.random() < self.crossover and len(self.alive) > 1:
                other = self._tournament()
                child = {name: (child if self.rng.random() < 0.5 else other)[name] for name in child}
            for name, values in space.choices.items():
                if self.rng.random() < self.mutation:
                    child[name] = values[self.rng.integers(len(values))]
            arch = to_boundary(space, child, self.problem.feasible, self.rng)
            if arch.key not in self.proposed:
                return arch
        return self.fresh_sample()

    def _tournament(self) -> Arch:
        picks = self.rng.choice(len(self.alive), size=min(self.sample_size, len(self.alive)), replace=False)
        return max((self.alive[i] for i in picks), key=lambda member: member[1])[0]
