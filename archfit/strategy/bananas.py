"""BANANAS (White, Neiswanger & Savani, AAAI 2021): predictor-guided search.

After ``initial`` random archs, each round fits an ensemble of small MLPs to every (encoding, value)
seen, builds a candidate pool by mutating the best archs found so far (all their neighbours plus
random two-step mutations, and a share ``explore`` of uniform samples), scores the pool with an
acquisition function on the ensemble's mean and spread, and queues the ``batch`` best unseen
candidates that fit the budget. Each round's ensemble is warm-started from the previous round's. The encoding is the space's path encoding when it has one (``encode_paths``: each
input→output route with its op sequence) concatenated with the generic one-hot of the choices.

Acquisitions: ``its`` (independent Thompson sampling: one normal draw per candidate from its
predictive mean and spread), ``ucb`` (mean + ``beta`` x spread), ``mean`` (pure exploitation).
Deterministic given the seed: every random draw comes from the strategy's seeded generator.
"""

from __future__ import annotations

import numpy as np

from archfit.errors import ArchfitError
from archfit.run.trial import Trial
from archfit.space.base import Arch
from archfit.strategy import register_strategy
from archfit.strategy.base import Problem, Strategy
from archfit.strategy.mlp_ensemble import MLPEnsemble

ACQUISITIONS = ("its", "ucb", "mean")


@register_strategy("bananas")
class Bananas(Strategy):
    """Counts are archs: ``initial`` random ones, ``batch`` per round, ``pool`` candidates scored per round,
    mutated from the ``parents`` best so far."""

    def __init__(self, initial: int = 5, batch: int = 3, pool: int = 1000, parents: int = 10,
                 acquisition: str = "its", beta: float = 0.5, members: int = 5, epochs: int = 250,
                 explore: float = 0.3, refit_epochs: int = 80) -> None:
        if acquisition not in ACQUISITIONS:
            raise ArchfitError(f"bananas: acquisition {acquisition!r} is not one of {list(ACQUISITIONS)}")
        if min(initial, batch, pool, parents, members, epochs) < 1:
            raise ArchfitError("bananas: initial, batch, pool, parents, members and epochs must be >= 1")
        self.initial = initial
        self.batch = batch
        self.pool = pool
        self.parents = parents
        self.acquisition = acquisition
        self.beta = beta
        self.members = members
        self.epochs = epochs
        self.explore = explore
        self.refit_epochs = refit_epochs

    def start(self, problem: Problem) -> None:
        super().start(problem)
        self.told: dict[str, tuple[Arch, float | None]] = {}
        self.asked: set[str] = set()
        self.queue: list[Arch] = []
        self._features: dict[str, np.ndarray] = {}
        self._model: MLPEnsemble | None = None

    def ask(self) -> Arch:
        if not self.queue:
            if sum(v is not None for _, v in self.told.values()) < self.initial:
                self.queue = [self._fresh_sample()]
            else:
                self.queue = self._propose()
        arch = self.queue.pop(0)
        self.asked.add(arch.key)
        return arch

    def tell(self, trial: Trial) -> None:
        self.told[trial.arch.key] = (trial.arch, self.value(trial))

    # -- internals ---------------------------------------------------------------------------------
    def _fresh_sample(self) -> Arch:
        arch = self.sample_feasible()
        for _ in range(100):
            if arch.key not in self.asked:
                break
            arch = self.sample_feasible()
        return arch

    def encode(self, arch: Arch) -> np.ndarray:
        cached = self._features.get(arch.key)
        if cached is None:
            space = self.problem.space
            parts = [space.encode(arch)]
            if hasattr(space, "encode_paths"):
                parts.insert(0, space.encode_paths(arch))
            cached = self._features[arch.key] = np.concatenate(parts)
        return cached

    def _candidates(self, ranked: list[Arch]) -> list[Arch]:
        space = self.problem.space
        pool: dict[str, Arch] = {}

        def offer(arch: Arch) -> None:  # feasibility is checked later, only for the chosen few (it may be costly)
            if arch.key not in self.asked and arch.key not in pool and space.is_valid(arch):
                pool[arch.key] = arch

        parents = ranked[: self.parents]
        for parent in parents:  # every one-step neighbour of the best archs
            for neighbour in space.neighbours(parent):
                offer(neighbour)
        n_random = int(self.explore * self.pool)
        misses = 0
        for _ in range(2 * self.pool):  # two-step mutations, parents weighted toward the best
            if len(pool) >= self.pool - n_random or misses > self.pool // 5:  # full, or the region is exhausted
                break
            parent = parents[min(int(self.rng.exponential(len(parents) / 3)), len(parents) - 1)]
            size = len(pool)
            offer(space.mutate(space.mutate(parent, self.rng), self.rng))
            misses = 0 if len(pool) > size else misses + 1
        for _ in range(n_random):
            offer(space.sample(self.rng))
        return list(pool.values())

    def _propose(self) -> list[Arch]:
        done = [(arch, value) for arch, value in self.told.values() if value is not None]
        ranked = [arch for arch, _ in sorted(done, key=lambda item: -item[1])]
        candidates = self._candidates(ranked)
        if not candidates:
            return [self._fresh_sample()]
        x = np.stack([self.encode(arch) for arch, _ in done])
        y = np.array([value for _, value in done], dtype=np.float64)
        model = MLPEnsemble(members=self.members, epochs=self.epochs)
        # warm start: each round continues from the last round's weights (fewer epochs, same members)
        epochs = self.refit_epochs if self._model is not None else self.epochs
        self._model = model.fit(x, y, seed=int(self.rng.integers(2**31)), warm=self._model, epochs=epochs)
        predictions = model.predict(np.stack([self.encode(arch) for arch in candidates]))
        mean, spread = predictions.mean(axis=0), predictions.std(axis=0)
        if self.acquisition == "its":
            score = mean + spread * self.rng.standard_normal(len(candidates))
        elif self.acquisition == "ucb":
            score = mean + self.beta * spread
        else:
            score = mean
        chosen = []
        for i in np.argsort(-score, kind="stable"):
            if self.problem.feasible(candidates[i]):
                chosen.append(candidates[i])
                if len(chosen) == self.batch:
                    break
        return chosen or [self._fresh_sample()]
