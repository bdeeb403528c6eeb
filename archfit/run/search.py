"""``Search``: the orchestrator. Ask → dedup → budget check → store RUNNING → estimate → store result → tell.

Resuming is replay: the strategy is deterministic given its seed and what it was told, so a resumed
run asks the same archs again; those already COMPLETE in the store are told from the store at no
cost, and only unfinished ones are evaluated. With one worker the resumed run therefore ends exactly
where an uninterrupted one would.
"""

from __future__ import annotations

import math
import traceback
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from archfit.cost.budget import Budget, Cost
from archfit.estimate.base import Estimate
from archfit.run.executors import Executor
from archfit.run.store import Store
from archfit.run.trial import Trial, TrialState
from archfit.space.base import Arch, Space
from archfit.strategy.base import Problem, Strategy

MAX_IDLE_ASKS = 2000  # consecutive asks yielding nothing new before the space counts as exhausted


@dataclass
class SearchStats:
    evaluated: int = 0  # estimates run in this process (excludes those replayed from the store)
    replayed: int = 0  # completed trials told from the store
    duplicates: int = 0  # asks of an arch already known
    rejected: int = 0  # asks that did not fit the budget (never trained)
    exhausted: bool = False
    notes: list[str] = field(default_factory=list)


class Search:
    """Runs ``n_trials`` distinct feasible archs through ``executor``, recording each in ``store``."""

    def __init__(self, space: Space, strategy: Strategy, executor: Executor, store: Store, budget: Budget,
                 cost: Callable[[Arch], Cost], metric: str, n_trials: int, seed: int = 0,
                 on_trial: Callable[[Trial], None] | None = None) -> None:
        self.space = space
        self.strategy = strategy
        self.executor = executor
        self.store = store
        self.budget = budget
        self.cost = cost
        self.metric = metric
        self.n_trials = n_trials
        self.seed = seed
        self.on_trial = on_trial
        self.stats = SearchStats()

    def feasible(self, arch: Arch) -> bool:
        return self.budget.fits(self.cost(arch))

    def run(self) -> list[Trial]:
        finished = {t.arch.key: t for t in self.store.trials() if t.state is not TrialState.RUNNING}
        self.strategy.start(Problem(self.space, self.metric, self.feasible, self.cost, self.budget.primary, self.seed))
        pending: dict[Future[Estimate], tuple[int, Arch]] = {}
        waiting: dict[str, int] = {}  # in-flight arch key -> extra asks to answer when it finishes
        counted: set[str] = set()  # keys that count toward n_trials in this run
        idle = 0
        while True:
            while len(pending) < self.executor.workers and len(counted) < self.n_trials:
                if idle >= MAX_IDLE_ASKS:
                    self.stats.exhausted = True
                    self.stats.notes.append(f"stopped after {MAX_IDLE_ASKS} asks in a row found nothing new")
                    break
                arch = self.space.canonical(self.strategy.ask())
                if arch.key in finished:
                    if arch.key in counted:
                        self.stats.duplicates += 1
                        idle += 1
                    else:
                        counted.add(arch.key)
                        self.stats.replayed += 1
                        idle = 0
                    self._tell(finished[arch.key], new=False)
                    continue
                if arch.key in waiting:
                    waiting[arch.key] += 1
                    self.stats.duplicates += 1
                    idle += 1
                    continue
                cost = self.cost(arch)
                if not self.budget.fits(cost):
                    self.stats.rejected += 1
                    idle += 1
                    self._tell(Trial(-1, arch, TrialState.FAILED, cost, error="does not fit the budget"), new=False)
                    continue
                idle = 0
                counted.add(arch.key)
                number = self.store.start(arch, cost)
                waiting[arch.key] = 0
                pending[self.executor.submit(arch)] = (number, arch)
            if not pending:
                break
            for future in sorted(self.executor.wait_any(set(pending)), key=lambda f: pending[f][0]):
                number, arch = pending.pop(future)
                trial = self._record(number, arch, future)
                finished[arch.key] = trial
                self._tell(trial, new=True)
                for _ in range(waiting.pop(arch.key)):
                    self._tell(trial, new=False)
        return self.store.trials()

    def _record(self, number: int, arch: Arch, future: Future[Estimate]) -> Trial:
        self.stats.evaluated += 1
        try:
            estimate = future.result()
            bad = [k for k, v in estimate.metrics.items() if not math.isfinite(v)]
            if bad:
                raise FloatingPointError(f"non-finite metric {bad[0]} = {estimate.metrics[bad[0]]}")
            self.store.finish(number, TrialState.COMPLETE, estimate.metrics, estimate.fidelity, estimate.seconds)
        except Exception as exc:
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.store.finish(number, TrialState.FAILED, {}, {}, 0.0, error)
        return self.store.trial(number)

    def _tell(self, trial: Trial, new: bool) -> None:
        self.strategy.tell(trial)
        if new and self.on_trial:
            self.on_trial(trial)
