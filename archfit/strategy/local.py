"""Local search (White, Nolen, Siems & Hutter 2021, "Local search is state of the art for NAS
benchmarks"): from a random start, evaluate the neighbours of the current arch (one choice changed)
and move to the best one while that improves; at a local optimum restart from a new random arch.

Neighbours are visited in a seeded random order, so the strategy is deterministic given its seed.
With ``first_improvement`` it moves as soon as a better neighbour is seen instead of after the whole
neighbourhood (cheaper steps, more of them).
"""

from __future__ import annotations

from archfit.space.base import Arch
from archfit.strategy import register_strategy
from archfit.strategy.base import Problem, Strategy
from archfit.trial import Trial


@register_strategy("local")
class LocalSearch(Strategy):
    """``initial``: random archs evaluated before the first climb starts from the best of them."""

    def __init__(self, initial: int = 1, first_improvement: bool = False) -> None:
        self.initial = initial
        self.first_improvement = first_improvement

    def start(self, problem: Problem) -> None:
        super().start(problem)
        self.values: dict[str, float] = {}  # arch key → metric of every arch told (failed: -inf)
        self.archs: dict[str, Arch] = {}
        self.current: Arch | None = None
        self.queue: list[Arch] = []
        self.restarts: list[Arch] = []  # random starts awaiting their result

    def ask(self) -> Arch:
        for _ in range(1000):
            if self.queue:
                return self.queue.pop(0)
            if self.current is None and len(self.values) + len(self.restarts) < self.initial:
                arch = self.sample_feasible()
                self.restarts.append(arch)
                return arch
            self._step()
        return self.sample_feasible()

    def _step(self) -> None:
        """Choose where to stand next and queue its unevaluated neighbours (or a restart)."""
        if self.current is None:
            known = [a for a in self.restarts if a.key in self.values]
            if not known:  # starts still in flight (parallel workers): start one more
                self.restarts.append(self.sample_feasible())
                self.queue.append(self.restarts[-1])
                return
            self.current = max(known, key=lambda a: self.values[a.key])
            self.restarts = []
        best = self._best_neighbour(self.current)
        if best is not None and self.values[best.key] > self.values[self.current.key]:
            self.current = best
        elif not self._unseen(self.current):
            self.current = None  # local optimum: restart
            self.restarts = [self.sample_feasible()]
            self.queue.append(self.restarts[0])
            return
        self.queue = self._unseen(self.current)

    def _feasible_neighbours(self, arch: Arch) -> list[Arch]:
        neighbours = [n for n in self.problem.space.neighbours(arch) if self.problem.feasible(n)]
        order = self.rng.permutation(len(neighbours))
        return [neighbours[i] for i in order]

    def _unseen(self, arch: Arch) -> list[Arch]:
        return [n for n in self._feasible_neighbours(arch) if n.key not in self.values]

    def _best_neighbour(self, arch: Arch) -> Arch | None:
        seen = [n for n in self.problem.space.neighbours(arch) if n.key in self.values]
        return max(seen, key=lambda n: self.values[n.key], default=None)

    def tell(self, trial: Trial) -> None:
        value = self.value(trial)
        self.values[trial.arch.key] = float("-inf") if value is None else value
        self.archs[trial.arch.key] = trial.arch
        if (self.first_improvement and self.current is not None and self.queue
                and self.values[trial.arch.key] > self.values.get(self.current.key, float("inf"))):
            self.current, self.queue = trial.arch, self._unseen(trial.arch)
