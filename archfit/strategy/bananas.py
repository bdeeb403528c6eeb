"""BANANAS (White, Neiswanger & Savani, AAAI 2021): predictor-guided search, with a local phase.

After ``initial`` random archs, each round fits a predictor to every (encoding, value) seen, scores a
candidate set with an acquisition function on the predictor's mean and spread, and queues the
``batch`` best unseen candidates that fit the budget. The predictor is any registered one
(``predictor="mlp"`` by default: an ensemble of small MLPs, warm-started from the previous round's
weights; ``"rf"``, ``"gp"``, ``"gbdt"``, ``"gcn"``... with ``predictor_args`` for its constructor; see
``archfit.predict``). The encoding is the space's path encoding when it has one (``encode_paths``:
each input→output route with its op sequence) concatenated with the generic one-hot of the choices.

Candidates: when the space can list its classes (``all_canonical``) and has at most
``ENUMERATE_LIMIT`` of them, every unseen class is scored — the acquisition is maximised exactly,
which costs one forward pass of a few thousand rows. Otherwise (``candidates="mutation"``) the pool
is the neighbours of the ``parents`` best archs plus random two-step mutations weighted toward the
best, and a share ``explore`` of uniform samples.

Local phase: ``local`` of each round's picks are unseen neighbours (one choice changed) of the
incumbent (the best arch so far), best predicted mean first; after ``stall`` rounds without a better
value, the whole round is such picks, until the incumbent's neighbourhood is exhausted. This checks
the neighbours the predictor alone may rank low (e.g. one conv swapped for a skip edge in an otherwise
optimal cell), as local search does, at one query in three while the search is improving.

Acquisitions: ``its`` (independent Thompson sampling: one normal draw per candidate from its
predictive mean and spread), ``ucb`` (mean + ``beta`` x spread), ``mean`` (pure exploitation).
Deterministic given the seed: every random draw comes from the strategy's seeded generator.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import numpy as np

from archfit.errors import ArchfitError
from archfit.predict import create_predictor
from archfit.predict.base import Predictor
from archfit.predict.encoding import SpaceEncoder
from archfit.space.base import Arch
from archfit.strategy import register_strategy
from archfit.strategy.base import Problem, Strategy
from archfit.trial import Trial

ACQUISITIONS = ("its", "ucb", "mean")
CANDIDATES = ("auto", "space", "mutation")
ENUMERATE_LIMIT = 20_000  # classes scored every round with candidates="auto" (NAS-Bench-201: 6,461)


@dataclass(frozen=True)
class BananasSettings:
    """Counts are archs: ``initial`` random ones, ``batch`` per round (``local`` of them from the
    incumbent's neighbourhood; after ``stall`` rounds without a better value the whole round); with
    mutation candidates, ``pool`` per round from the ``parents`` best, a share ``explore`` uniform.
    The predictor: ``predictor`` by registered name with ``predictor_args``; for the default ``"mlp"``,
    ``members`` MLPs trained ``epochs`` epochs at the first fit, ``refit_epochs`` after (warm start).
    ``beta`` weights the spread in ``ucb``."""

    initial: int = 5
    batch: int = 3
    acquisition: str = "its"
    beta: float = 0.5
    members: int = 5
    epochs: int = 250
    refit_epochs: int = 80
    candidates: str = "auto"
    pool: int = 1000
    parents: int = 10
    explore: float = 0.3
    local: int = 2
    stall: int = 1
    predictor: str = "mlp"
    predictor_args: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.acquisition not in ACQUISITIONS:
            raise ArchfitError(f"bananas: acquisition {self.acquisition!r} is not one of {list(ACQUISITIONS)}")
        if self.candidates not in CANDIDATES:
            raise ArchfitError(f"bananas: candidates {self.candidates!r} is not one of {list(CANDIDATES)}")
        if min(self.initial, self.batch, self.pool, self.parents, self.members, self.epochs) < 1:
            raise ArchfitError("bananas: initial, batch, pool, parents, members and epochs must be >= 1")
        if self.local < 0 or self.stall < 0:
            raise ArchfitError(f"bananas: local {self.local} and stall {self.stall} must be >= 0 (0 turns them off)")
        if not isinstance(self.predictor_args, dict):
            raise ArchfitError(f"bananas: predictor_args {self.predictor_args!r} must be a JSON object")
        create_predictor(self.predictor, **self.predictor_args)  # an unknown name or argument fails here


@register_strategy("bananas")
class Bananas(Strategy):
    """``Bananas(**settings)``: keyword arguments are the fields of ``BananasSettings``."""

    def __init__(self, **settings: Any) -> None:
        self.settings = BananasSettings(**settings)

    def start(self, problem: Problem) -> None:
        super().start(problem)
        self.told: dict[str, tuple[Arch, float | None]] = {}
        self.asked: set[str] = set()
        self.queue: list[Arch] = []
        space = problem.space
        self.encoder = SpaceEncoder(space, ("path", "onehot") if hasattr(space, "encode_paths") else ("onehot",))
        self._model = self._make_predictor()
        self._best, self._stalled = float("-inf"), 0  # best value at the last round, rounds since it rose
        self._classes: list[Arch] | None = None  # every class, when the space is scored exhaustively
        if self.settings.candidates != "mutation":
            listed = getattr(problem.space, "all_canonical", None)
            classes = listed() if listed is not None else None
            if classes is not None and (self.settings.candidates == "space" or len(classes) <= ENUMERATE_LIMIT):
                self._classes = classes
                self.encoder.features(classes)  # encode every class once (cached)
            elif self.settings.candidates == "space":
                raise ArchfitError(f"bananas: candidates 'space' needs a space that lists its classes; "
                                   f"{problem.space.name!r} does not (use 'mutation')")

    def ask(self) -> Arch:
        if not self.queue:
            if sum(v is not None for _, v in self.told.values()) < self.settings.initial:
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

    def _make_predictor(self) -> Predictor:
        args = dict(self.settings.predictor_args)
        if self.settings.predictor == "mlp":  # the strategy's own MLP settings, unless overridden
            args = {"members": self.settings.members, "epochs": self.settings.epochs,
                    "refit_epochs": self.settings.refit_epochs, **args}
        return create_predictor(self.settings.predictor, **args)

    def encode(self, arch: Arch) -> np.ndarray:
        return self.encoder.features([arch])[0]

    def _mutation_candidates(self, ranked: list[Arch]) -> list[Arch]:
        space = self.problem.space
        pool: dict[str, Arch] = {}

        def offer(arch: Arch) -> None:  # feasibility is checked later, only for the chosen few (it may be costly)
            if arch.key not in self.asked and arch.key not in pool and space.is_valid(arch):
                pool[arch.key] = arch

        parents = ranked[: self.settings.parents]
        for parent in parents:  # every one-step neighbour of the best archs
            for neighbour in space.neighbours(parent):
                offer(neighbour)
        n_random = int(self.settings.explore * self.settings.pool)
        misses = 0
        for _ in range(2 * self.settings.pool):  # two-step mutations, parents weighted toward the best
            if len(pool) >= self.settings.pool - n_random or misses > self.settings.pool // 5:  # full, or the region is exhausted
                break
            parent = parents[min(int(self.rng.exponential(len(parents) / 3)), len(parents) - 1)]
            size = len(pool)
            offer(space.mutate(space.mutate(parent, self.rng), self.rng))
            misses = 0 if len(pool) > size else misses + 1
        for _ in range(n_random):
            offer(space.sample(self.rng))
        return list(pool.values())

    def _candidates(self, ranked: list[Arch]) -> list[Arch]:
        """Unseen candidates."""
        if self._classes is not None:
            return [arch for arch in self._classes if arch.key not in self.asked]
        return self._mutation_candidates(ranked)

    def _propose(self) -> list[Arch]:
        done = [(arch, value) for arch, value in self.told.values() if value is not None]
        ranked = [arch for arch, _ in sorted(done, key=lambda item: -item[1])]
        candidates = self._candidates(ranked)
        if not candidates:
            return [self._fresh_sample()]
        y = np.array([value for _, value in done], dtype=np.float64)
        model = self._model  # the default MLP ensemble continues from the last round's weights
        model.fit([arch for arch, _ in done], y, self.encoder, seed=int(self.rng.integers(2**31)))
        score = self._score(*model.predict(candidates))
        chosen = self._local_picks(ranked[0], model, self._local_count(float(y.max())))
        picked = {arch.key for arch in chosen}
        for i in np.argsort(-score, kind="stable"):
            if len(chosen) >= self.settings.batch:
                break
            if candidates[i].key not in picked and self.problem.feasible(candidates[i]):
                chosen.append(candidates[i])
        return chosen or [self._fresh_sample()]

    def _score(self, mean: np.ndarray, spread: np.ndarray) -> np.ndarray:
        """The acquisition of each candidate from the predictor's mean and spread."""
        if self.settings.acquisition == "its":
            return mean + spread * self.rng.standard_normal(len(mean))
        if self.settings.acquisition == "ucb":
            return mean + self.settings.beta * spread
        return mean

    def _local_count(self, best: float) -> int:
        """Picks of this round from the incumbent's neighbourhood: ``local``, or all after a stall."""
        if best > self._best:
            self._best, self._stalled = best, 0
        else:
            self._stalled += 1
        return self.settings.batch if self.settings.stall and self._stalled >= self.settings.stall else min(self.settings.local, self.settings.batch)

    def _local_picks(self, incumbent: Arch, model: Predictor, count: int) -> list[Arch]:
        """Up to ``count`` unseen feasible neighbours of the incumbent, best predicted mean first (none once
        its neighbourhood is exhausted: it is then a certified local optimum and the predictor leads)."""
        options = [n for n in self.problem.space.neighbours(incumbent) if n.key not in self.asked] if count else []
        if not options:
            return []
        mean = model.predict(options)[0]
        order = (options[i] for i in np.argsort(-mean, kind="stable"))
        return list(islice((n for n in order if self.problem.feasible(n)), count))  # lazily: may be costly
