"""Strategies measured on a tabular benchmark, side by side, with seeds (the protocol of issue 3).

Protocol: a strategy's ``ask``/``tell`` are driven in memory with the same plug-in classes ``archfit
search`` uses. Every ask is canonicalised; a query is charged once per isomorphism class, and asking
for a class already charged returns its cached value for free (for every strategy alike). The best
value seen is recorded after each charged query; a run stops after ``queries`` charged queries (or
after ``MAX_FREE_ASKS`` asks in a row that charged nothing, counted as exhausted).

With a budget (``feasible``, e.g. a device's measured latency under a bound), the strategy sees the
same feasibility test as in ``archfit search``; an ask over the budget is refused like an invalid cell:
not charged, never the best; the optimum is then the best value among the classes that fit.

Also reported, after Yang, Esperança & Carlucci ("NAS evaluation is frustratingly hard", ICLR 2020):
the improvement over the random-average architecture, RI = 100 x (best − r) / r in %, where r is the
expected value of one arch drawn by the space's own uniform sampler (computed exactly by enumeration).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from archfit.cost.budget import Cost
from archfit.cost.model import CostModel
from archfit.errors import ArchfitError
from archfit.estimate.tabular import TabularEstimator
from archfit.space.base import Arch, Space
from archfit.strategy import create_strategy
from archfit.strategy.base import Problem
from archfit.trial import Trial, TrialState

CHECKPOINTS = (10, 25, 50, 100, 200)
MAX_FREE_ASKS = 5000


@dataclass
class StrategyRuns:
    """Best-so-far curves of one strategy: ``curves[s][q]`` is the best after q + 1 charged queries, seed s."""

    name: str
    curves: list[list[float]] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)
    exhausted: int = 0  # runs that stopped early because the strategy only repeated itself

    def at(self, queries: int) -> list[float]:
        return [curve[min(queries, len(curve)) - 1] for curve in self.curves]


def run_once(strategy_name: str, space: Space, lookup: Callable[[Arch], float], metric: str, queries: int,
             seed: int, cost: Callable[[Arch], Cost] | None = None, feasible: Callable[[Arch], bool] | None = None,
             strategy_args: dict[str, Any] | None = None) -> tuple[list[float], bool]:
    """One seeded run: the best-so-far curve over charged queries, and whether it ended early."""
    strategy = create_strategy(strategy_name, **(strategy_args or {}))
    fits = feasible or (lambda arch: True)
    strategy.start(Problem(space, metric, fits, cost or (lambda arch: Cost(0, 0)), "flops", seed))
    charged: dict[str, Trial] = {}
    curve: list[float] = []
    best, free = float("-inf"), 0
    while len(charged) < queries:
        arch = space.canonical(strategy.ask())
        trial = charged.get(arch.key)
        if trial is None:
            if not space.is_valid(arch) or not fits(arch):
                error = "invalid architecture" if not space.is_valid(arch) else "over the budget"
                trial = Trial(-1, arch, TrialState.FAILED, error=error)
                strategy.tell(trial)
                free += 1
            else:
                free = 0
                value = lookup(arch)
                trial = charged[arch.key] = Trial(len(charged), arch, TrialState.COMPLETE, metrics={metric: value})
                best = max(best, value)
                curve.append(best)
                strategy.tell(trial)
        else:
            free += 1
            strategy.tell(trial)
        if free >= MAX_FREE_ASKS:
            return curve + [best] * (queries - len(curve)), True
    return curve, False


def random_average(space: Space, lookup: Callable[[Arch], float]) -> float:
    """Expected value of ``space.sample`` (uniform over valid encodings), by enumerating the encodings."""
    enumerate_all = getattr(space, "all_canonical", None)
    if enumerate_all is None:
        raise ArchfitError(f"space {space.name!r} cannot be enumerated; the random average needs every arch")
    total, count = 0.0, 0
    for ops in space.classes().of:
        arch = Arch(dict(zip(space.choices, ops)))
        if space.is_valid(arch):
            total += lookup(arch)
            count += 1
    return total / count


def run_benchmark(space: Space, estimator: TabularEstimator, strategies: Sequence[str], queries: int,
                  seeds: int, progress: Callable[[str, int, float], None] | None = None,
                  feasible: Callable[[Arch], bool] | None = None,
                  strategy_args: dict[str, dict[str, Any]] | None = None) -> dict[str, StrategyRuns]:
    """Every strategy x seeds 0..``seeds``−1; one intra-op thread (the MLPs are tiny). ``strategy_args``:
    constructor arguments per strategy name; ``feasible``: the budget (None: unbounded)."""
    strategy_args = strategy_args or {}
    for name in strategies:
        create_strategy(name, **strategy_args.get(name, {}))  # unknown names or arguments fail before anything runs
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    cost_model: CostModel | None = None
    results: dict[str, StrategyRuns] = {}
    try:
        for name in strategies:
            if name == "optuna:nsga2" and cost_model is None:  # the only one that reads costs
                cost_model = CostModel(space)
            runs = results[name] = StrategyRuns(name)
            for seed in range(seeds):
                start = time.perf_counter()
                curve, exhausted = run_once(name, space, estimator.lookup, estimator.metric, queries, seed, cost_model,
                                            feasible, strategy_args.get(name))
                runs.curves.append(curve)
                runs.seconds.append(time.perf_counter() - start)
                runs.exhausted += exhausted
                if progress:
                    progress(name, seed, runs.seconds[-1])
    finally:
        torch.set_num_threads(threads)
    return results


def feasible_optimum(space: Space, estimator: TabularEstimator, feasible: Callable[[Arch], bool]) -> float:
    """The best value among the valid classes (canonical encodings) that fit the budget."""
    values = [estimator.lookup(arch) for arch in space.all_canonical() if feasible(arch)]
    if not values:
        raise ArchfitError("no architecture of the table fits the budget; raise the bound")
    return max(values)


def bench_json(optimum: float, results: dict[str, StrategyRuns], checkpoints: Sequence[int]) -> dict:
    """The issue's shape: ``{"optimum", "strategies": {name: {queries: {mean, std, values}}}}``."""
    return {"optimum": float(optimum), "strategies": {
        name: {str(q): summary(runs.at(q)) for q in checkpoints} for name, runs in results.items()}}


def summary(values: Sequence[float]) -> dict:
    array = np.asarray(values, dtype=np.float64)
    return {"mean": float(array.mean()), "std": float(array.std()), "values": [float(v) for v in array]}


def checkpoints_for(queries: int) -> list[int]:
    points = [q for q in CHECKPOINTS if q <= queries]
    return points if queries in points else points + [queries]


def perturbed(estimator: TabularEstimator, spec: str) -> TabularEstimator:
    """A copy of ``estimator`` with a derived column (see ``archfit.benchmark.derived``)."""
    from archfit.benchmark.derived import derived

    return derived(estimator, spec)
