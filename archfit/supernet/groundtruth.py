"""Ground truth for judging a supernet: architectures spread over FLOPs, each trained stand-alone.

Stand-alone training is the expensive part of every ranking study, so each (data, arch, seed,
training settings) result is cached in one JSON file written atomically after every run: a rerun,
or an interrupted run resumed, trains only what is missing.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archfit.cost import CostModel
from archfit.data.base import DataModule
from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, read_json
from archfit.metrics import kendall_tau
from archfit.space.base import Arch, Space
from archfit.space.capabilities import Bounded
from archfit.space.chain import ChainSpace
from archfit.train import TrainConfig, accuracy, train

FORMAT = "archfit-groundtruth/1"


def chain_flops(space: ChainSpace, arch: Arch) -> int:
    """FLOPs (2 x MACs, batch 1) of ``space.build(arch)`` in closed form: the same convention as
    ``count_flops`` (convolutions and the linear layer), ~1000x faster, for stratifying large pools.
    A test checks it against ``count_flops`` on random archs."""
    size, nd = list(space.input_shape[1:]), space.ndim

    def conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1) -> int:
        size[:] = [(s + 2 * (kernel // 2) - kernel) // stride + 1 for s in size]
        return 2 * cout * (cin // groups) * kernel**nd * int(np.prod(size))

    total = conv(space.input_shape[0], space.stem_channels, 3)
    for p in space.plan(arch):
        hidden = p.cin * p.expand
        total += conv(p.cin, hidden, 1) if p.expand != 1 else 0
        total += conv(hidden, hidden, p.kernel, p.stride, hidden) + conv(hidden, p.cout, 1)
    last = space.plan(arch)[-1].cout
    return total + conv(last, space.head_channels, 1) + 2 * space.head_channels * space.num_classes


def stratified_archs(space: Space, k: int, seed: int = 0, pool: int = 300) -> list[Arch]:
    """``k`` distinct archs spread evenly over log FLOPs (smallest and largest included when known).

    A pool of random archs is split into ``k`` equal-width bins of log FLOPs and one arch is drawn per
    bin; bins left empty are filled from the most populated ones. Wide FLOPs spread gives a wide
    accuracy spread, which a rank correlation needs to mean anything.
    """
    if k < 2:
        raise ArchfitError(f"rank check needs k >= 2 architectures, got {k}")
    rng = np.random.default_rng(seed)
    model = CostModel(space)
    cost = (lambda arch: chain_flops(space, arch)) if isinstance(space, ChainSpace) else (lambda a: model(a).flops)
    candidates = {a.key: a for a in (space.sample(rng) for _ in range(pool))}
    ends = [a for a in (space.smallest(), space.largest() if isinstance(space, Bounded) else None) if a is not None]
    for arch in ends:
        candidates[arch.key] = arch
    archs = sorted(candidates.values(), key=lambda a: (cost(a), a.key))
    if len(archs) < k:
        raise ArchfitError(f"space {space.name!r} yielded only {len(archs)} distinct archs; asked for k={k}")
    logf = np.log([cost(a) for a in archs])
    edges = np.linspace(logf[0], logf[-1], k + 1)
    bins = [[i for i in range(len(archs)) if edges[b] <= logf[i] < edges[b + 1] or (b == k - 1 and logf[i] == edges[-1])]
            for b in range(k)]
    chosen: set[int] = {0, len(archs) - 1} if ends else set()
    for members in bins:
        free = [i for i in members if i not in chosen]
        if free and not chosen.intersection(members):
            chosen.add(int(free[rng.integers(len(free))]))
    while len(chosen) < k:  # fill from the fullest bins so the spread stays even
        members = max(bins, key=lambda m: len([i for i in m if i not in chosen]) / (1 + len(chosen.intersection(m))))
        free = [i for i in members if i not in chosen]
        chosen.add(int(free[rng.integers(len(free))]))
    return [archs[i] for i in sorted(chosen)][:k]


@dataclass(frozen=True)
class Standalone:
    """One stand-alone training run; accuracies are fractions in [0, 1], seconds are wall time."""

    arch: dict[str, Any]
    seed: int
    valid_acc: float
    test_acc: float
    train_loss: float
    seconds: float
    flops: int
    params: int


class GroundTruth:
    """Stand-alone results cached in ``path`` (JSON), keyed by data, arch, seed and training settings."""

    def __init__(self, path: Path, space: Space, data: DataModule, config: TrainConfig) -> None:
        self.path, self.space, self.data, self.config = Path(path), space, data, config
        self._cost = CostModel(space)
        self._entries: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            stored = read_json(self.path, "an archfit ground-truth cache")
            if not isinstance(stored, dict) or stored.get("format") != FORMAT:
                raise ArchfitError(f"{self.path} is not an archfit ground-truth cache (expected format {FORMAT})")
            self._entries = stored["entries"]

    def _key(self, arch: Arch, seed: int) -> str:
        settings = {"space": self.space.spec(), "data": self.data.name, "config": asdict(self.config), "seed": seed}
        digest = hashlib.sha1(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.data.name}:{arch.key}:{digest}"

    def cached(self, arch: Arch, seed: int) -> Standalone | None:
        entry = self._entries.get(self._key(arch, seed))
        return Standalone(**entry) if entry else None

    def run(self, arch: Arch, seed: int) -> Standalone:
        """Train ``arch`` from scratch with ``seed`` (init and batch order), or return the cached result."""
        hit = self.cached(arch, seed)
        if hit is not None:
            return hit
        start = time.perf_counter()
        torch.manual_seed(seed)
        model = self.space.build(arch)
        config = TrainConfig(**{**asdict(self.config), "seed": seed})
        stats = train(model, self.data.train, config)
        cost = self._cost(arch)
        result = Standalone(dict(arch), seed, accuracy(model, self.data.valid), accuracy(model, self.data.test),
                            stats.final_loss, time.perf_counter() - start, cost.flops, cost.params)
        self._entries[self._key(arch, seed)] = asdict(result)
        atomic_write_json(self.path, {"format": FORMAT, "entries": self._entries})
        return result

    def collect(self, archs: Sequence[Arch], seeds: Sequence[int],
                on_result: Callable[[int, int, Standalone], None] | None = None,
                cached_only: bool = False) -> list[list[Standalone]]:
        """``result[i]``: arch ``i``'s runs, one per seed (seed-major order, so every arch has one seed
        early and an interrupted run is already usable). ``cached_only`` trains nothing: each arch gets
        the seeds already in the cache (possibly none)."""
        table: list[list[Standalone]] = [[] for _ in archs]
        for j, seed in enumerate(seeds):
            for i, arch in enumerate(archs):
                run = self.cached(arch, seed) if cached_only else self.run(arch, seed)
                if run is not None:
                    table[i].append(run)
                    if on_result:
                        on_result(i, j, run)
        return table


def truth_vector(table: Sequence[Sequence[Standalone]], metric: str = "test_acc") -> list[float]:
    """Mean over seeds of ``metric`` per arch: the ranking a supernet should reproduce."""
    return [float(np.mean([getattr(run, metric) for run in runs])) for runs in table]


def noise_ceiling(table: Sequence[Sequence[Standalone]], metric: str = "test_acc") -> float:
    """Mean Kendall tau between the per-seed rankings (seed-to-seed agreement of the ground truth itself),
    over the archs trained with every seed."""
    seeds = max((len(runs) for runs in table), default=0)
    full = [runs for runs in table if len(runs) == seeds]  # archs trained with every seed
    taus = [kendall_tau([getattr(r[a], metric) for r in full], [getattr(r[b], metric) for r in full])
            for a in range(seeds) for b in range(a + 1, seeds)]
    return float(np.mean(taus)) if taus else float("nan")


def oracle_tau(seed_tau: float, seeds: int) -> float:
    """Kendall tau that a perfect predictor (the noise-free accuracy) is expected to reach against the mean
    of ``seeds`` runs, given the seed-to-seed tau of single runs.

    Why: the ground truth is noisy, so even the truth itself cannot rank it perfectly; a predictor's tau is
    only "high" next to this bound. Model: accuracy = true value + independent Gaussian seed noise, for which
    tau = (2 / pi) arcsin(r) (Greiner's relation); seed-to-seed r = v / (v + n) and truth-vs-mean
    r = sqrt(v / (v + n / seeds)). A simulation of 30 archs agrees to 0.01 (docs/supernet.md).
    """
    if not 0 < seed_tau < 1 or seeds < 1:
        return float("nan")
    r_seeds = math.sin(math.pi * seed_tau / 2)
    noise_ratio = (1 - r_seeds) / r_seeds  # n / v
    return 2 / math.pi * math.asin(math.sqrt(1 / (1 + noise_ratio / seeds)))


def mean_to_mean_tau(seed_tau: float, seeds: int) -> float:
    """Kendall tau expected between two independent ``seeds``-run means (the same model as ``oracle_tau``):
    how reproducible a ground truth averaged over ``seeds`` runs is, r = v / (v + n / seeds). For 1 seed it
    is ``seed_tau`` itself; averaging seeds is how a noisy recipe is made to rank reproducibly."""
    if not 0 < seed_tau < 1 or seeds < 1:
        return float("nan")
    r_seeds = math.sin(math.pi * seed_tau / 2)
    noise_ratio = (1 - r_seeds) / r_seeds  # n / v
    return 2 / math.pi * math.asin(1 / (1 + noise_ratio / seeds))


def split_half_taus(table: Sequence[Sequence[Standalone]], metric: str = "test_acc") -> dict[str, float]:
    """Measured Kendall tau between the means of two disjoint halves of the seeds, for every split of an even
    number of seeds into halves (e.g. 4 seeds: {0,1} vs {2,3}, {0,2} vs {1,3}, {0,3} vs {1,2}); keyed like
    ``"01-23"``. The measured counterpart of ``mean_to_mean_tau(seed_tau, seeds // 2)``."""
    seeds = max((len(runs) for runs in table), default=0)
    full = [runs for runs in table if len(runs) == seeds]
    half = seeds // 2
    if half < 1:
        return {}
    found: dict[str, float] = {}
    for first in itertools.combinations(range(2 * half), half):
        if 0 not in first:
            continue  # each split once
        second = tuple(i for i in range(2 * half) if i not in first)
        a = [float(np.mean([getattr(r[i], metric) for i in first])) for r in full]
        b = [float(np.mean([getattr(r[i], metric) for i in second])) for r in full]
        found["".join(map(str, first)) + "-" + "".join(map(str, second))] = kendall_tau(a, b)
    return found
