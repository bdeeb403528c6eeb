"""Shared fixtures for the scale tests: a fast synthetic search and estimators that misbehave on purpose."""

from __future__ import annotations

import os
from pathlib import Path

from archfit.cost import CostModel
from archfit.cost.budget import Budget
from archfit.estimate.base import Estimate, Estimator
from archfit.estimate.synthetic import SyntheticTableEstimator
from archfit.run.executors import Executor, create_executor
from archfit.run.search import Search
from archfit.run.store import Store
from archfit.run.trial import Trial
from archfit.space import create_space
from archfit.strategy import create_strategy


class Crash(BaseException):
    """Stands in for the driver dying between two trials (raised from the on_trial hook)."""


_SPACE_AND_COST: list = []


def chain_space():
    if not _SPACE_AND_COST:  # one space and one cost cache shared by all tests: FLOP counting dominates otherwise
        space = create_space("chain", input_shape=[1, 8, 8], num_classes=10, max_depth=1)
        _SPACE_AND_COST.extend([space, CostModel(space)])
    return _SPACE_AND_COST[0]


class DieOnceEstimator(Estimator):
    """Kills its own worker process the first time it sees an arch listed in ``victims`` (marker files)."""

    def __init__(self, inner: Estimator, marker_dir: str, victims: int = 1) -> None:
        self.inner, self.marker_dir, self.victims = inner, marker_dir, victims

    def estimate(self, arch) -> Estimate:
        markers = Path(self.marker_dir)
        if len(list(markers.iterdir())) < self.victims:
            (markers / arch.key).touch()
            os.kill(os.getpid(), 9)
        return self.inner.estimate(arch)


def run_search(store_path: Path, executor: str | Executor, trials: int, strategy: str = "evolution",
               crash_after: int | None = None, seed: int = 0, estimator: Estimator | None = None) -> list[Trial]:
    """A synthetic-table search; ``crash_after`` new results, raise ``Crash`` (store left as a kill leaves it)."""
    space = chain_space()
    estimator = estimator or SyntheticTableEstimator(space, seed=seed)
    store = Store.open(store_path) if store_path.exists() else Store.create(store_path, {"test": True})
    owned = isinstance(executor, str)
    ex = create_executor(executor, estimator) if owned else executor
    seen = [0]

    def on_trial(_trial: Trial) -> None:
        seen[0] += 1
        if crash_after is not None and seen[0] >= crash_after:
            raise Crash()

    search = Search(space, create_strategy(strategy), ex, store, Budget.parse(max_flops="1M"),
                    _SPACE_AND_COST[1], estimator.metric, trials, seed, on_trial)
    try:
        search.run()
        return store.trials()
    finally:
        if owned:
            ex.close()
        store.close()
        run_search.last = search  # type: ignore[attr-defined]
