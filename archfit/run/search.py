"""``Search``: the orchestrator. Ask → dedup → budget check → store RUNNING → estimate → store result → tell.

Asynchronous: up to ``executor.workers`` estimates are in flight, and the strategy is asked for a new
candidate as soon as one finishes (or, with an ``ordered`` executor, as soon as the oldest finishes).

Resuming is replay: the strategy is deterministic given its seed and what it was told, and the store
records for every trial after how many results it was asked (``asked_after``) and at which position
its own result was told (``told``). A resumed run re-asks the stored archs with the results told at
exactly the recorded points — at no cost — then evaluates only the unfinished ones, and goes on. So
the strategy's state after a crash is the state it had before, whatever the worker count; with one
worker (or ``ordered``) the resumed run ends exactly where an uninterrupted one would.
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
from archfit.space.base import Arch, Space
from archfit.strategy.base import Problem, Strategy
from archfit.trial import Trial, TrialState

MAX_IDLE_ASKS = 2000  # consecutive asks yielding nothing new before the space counts as exhausted


@dataclass
class SearchStats:
    evaluated: int = 0  # estimates run in this process (excludes those replayed from the store)
    replayed: int = 0  # completed trials told from the store
    duplicates: int = 0  # asks of an arch already known
    rejected: int = 0  # asks that did not fit the budget (never trained)
    exhausted: bool = False
    diverged: bool = False  # the strategy asked something else than the store recorded (not deterministic?)
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
        stored = self.store.trials()
        self.finished: dict[str, Trial] = {}  # known results by arch key (replayed ones join as they are told)
        self.waiting: dict[str, int] = {}  # in-flight arch key -> extra asks to answer when it finishes
        self.counted: set[str] = set()  # keys that count toward n_trials in this run
        self.idle = 0
        self.tells = 0  # results told so far (the clock of asked_after / told)
        self.strategy.start(Problem(self.space, self.metric, self.feasible, self.cost, self.budget.primary, self.seed))
        pending: dict[Future[Estimate], tuple[int, Arch]] = {}
        try:
            self._loop(stored, pending)
        finally:
            self.executor.discard(set(pending))  # on a crash or interrupt: left RUNNING in the store
        return self.store.trials()

    def _loop(self, stored: list[Trial], pending: dict[Future[Estimate], tuple[int, Arch]]) -> None:
        carry = self._replay(stored, pending)
        while True:
            while len(pending) < self.executor.workers and len(self.counted) < self.n_trials:
                arch, carry = (carry, None) if carry is not None else (self._propose(), None)
                if arch is None:
                    break
                self.counted.add(arch.key)
                number = self.store.start(arch, self.cost(arch), asked_after=self.tells)
                self.waiting[arch.key] = 0
                pending[self.executor.submit(arch)] = (number, arch)
            if not pending:
                break
            if self.executor.ordered:
                oldest = min(pending, key=lambda f: pending[f][0])
                done = self.executor.wait_any({oldest}) and {oldest}
            else:
                done = self.executor.wait_any(set(pending))
            for future in sorted(done, key=lambda f: pending[f][0]):
                number, arch = pending.pop(future)
                trial = self._record(number, arch, future)
                self.finished[arch.key] = trial
                self._told(trial, new=True)

    def _propose(self) -> Arch | None:
        """Ask until an arch worth evaluating comes; answer duplicates and over-budget asks on the way."""
        while self.idle < MAX_IDLE_ASKS:
            arch = self.space.canonical(self.strategy.ask())
            if arch.key in self.finished:
                if arch.key in self.counted:
                    self.stats.duplicates += 1
                    self.idle += 1
                else:  # a store without a recorded order: told from the store at first ask
                    self.counted.add(arch.key)
                    self.stats.replayed += 1
                    self.idle = 0
                self._tell(self.finished[arch.key], new=False)
                continue
            if arch.key in self.waiting:
                self.waiting[arch.key] += 1
                self.stats.duplicates += 1
                self.idle += 1
                continue
            cost = self.cost(arch)
            if not self.budget.fits(cost):
                self.stats.rejected += 1
                self.idle += 1
                self._tell(Trial(-1, arch, TrialState.FAILED, cost, error="does not fit the budget"), new=False)
                continue
            self.idle = 0
            return arch
        if not self.stats.exhausted:
            self.stats.exhausted = True
            self.stats.notes.append(f"stopped after {MAX_IDLE_ASKS} asks in a row found nothing new")
        return None

    def _replay(self, stored: list[Trial], pending: dict[Future[Estimate], tuple[int, Arch]]) -> Arch | None:
        """Re-ask and re-tell the stored trials in their recorded order; submit those left RUNNING.

        Returns an arch the strategy asked that the log did not expect (divergence), to be started next.
        """
        order = self.store.order()
        logged = [t for t in stored if order.get(t.number, (None, None))[0] is not None]
        for trial in stored:  # no recorded order (older stores): told from the store when first asked
            if trial.state is not TrialState.RUNNING and order.get(trial.number, (None, None))[0] is None:
                self.finished[trial.arch.key] = trial
        tell_queue = sorted((order[t.number][1], t.number) for t in logged if order[t.number][1] is not None)
        by_number = {t.number: t for t in logged}
        in_flight: dict[str, Trial] = {}
        carry: Arch | None = None
        told = 0

        def tell_until(limit: int) -> None:
            nonlocal told
            while told < len(tell_queue) and told < limit:
                trial = by_number[tell_queue[told][1]]
                if trial.arch.key in in_flight:
                    del in_flight[trial.arch.key]
                    self.stats.replayed += 1
                    self.finished[trial.arch.key] = trial
                    self._told(trial, new=False)
                told += 1

        for trial in logged:
            if len(self.counted) >= self.n_trials:
                break
            tell_until(order[trial.number][0])
            arch = self._propose()
            if arch is None:
                break
            if arch.key != trial.arch.key:
                self.stats.diverged = True
                self.stats.notes.append(f"replay diverged at trial {trial.number}: the strategy asked {arch.key}, "
                                        f"the store recorded {trial.arch.key}; continuing from the store by key")
                carry = arch
                break
            self.counted.add(arch.key)
            self.waiting[arch.key] = 0
            in_flight[arch.key] = trial
        tell_until(len(tell_queue))
        for trial in in_flight.values():  # unfinished: evaluated now; finished but never told: told now
            if trial.state is TrialState.RUNNING:
                number = self.store.start(trial.arch, trial.cost)
                pending[self.executor.submit(trial.arch)] = (number, trial.arch)
            else:
                self.stats.replayed += 1
                self.finished[trial.arch.key] = trial
                self._told(trial, new=False)
        for trial in logged:  # after a divergence: the rest is told from the store when first asked
            if trial.state is not TrialState.RUNNING and trial.arch.key not in in_flight:
                self.finished.setdefault(trial.arch.key, trial)
        return carry

    def _record(self, number: int, arch: Arch, future: Future[Estimate]) -> Trial:
        self.stats.evaluated += 1
        try:
            estimate = future.result()
            bad = [k for k, v in estimate.metrics.items() if not math.isfinite(v)]
            if bad:
                raise FloatingPointError(f"non-finite metric {bad[0]} = {estimate.metrics[bad[0]]}")
            self.store.finish(number, TrialState.COMPLETE, estimate.metrics, estimate.fidelity, estimate.seconds,
                              told=self.tells)
        except Exception as exc:
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            self.store.finish(number, TrialState.FAILED, {}, {}, 0.0, error, told=self.tells)
        return self.store.trial(number)

    def _told(self, trial: Trial, new: bool) -> None:
        """Tell a result (its position in the log is ``self.tells``), then the duplicate asks waiting for it."""
        self.tells += 1
        self._tell(trial, new)
        for _ in range(self.waiting.pop(trial.arch.key, 0)):
            self._tell(trial, new=False)

    def _tell(self, trial: Trial, new: bool) -> None:
        self.strategy.tell(trial)
        if new and self.on_trial:
            self.on_trial(trial)
