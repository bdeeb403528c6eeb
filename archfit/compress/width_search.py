"""Width search: the core's evolution (``strategy/boundary.py``) asked and told over a ``ModelWidthSpace``.

The strategy proposes width configurations on the budget's boundary, seeded with the uniform-ratio
configuration (what fixed-ratio pruning would pick), so the search can only improve on it; each is
scored by ``score`` (validation accuracy of the recalibrated width supernet) and told back. This
module is only the in-process loop: no store, no executor, since one score takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from archfit.cost.budget import Cost
from archfit.errors import ArchfitError
from archfit.trial import TrialState
from archfit.space.base import Arch
from archfit.space.model_width import ModelWidthSpace
from archfit.strategy.base import Problem, Trial
from archfit.strategy.boundary import BoundaryEvolution

METRIC = "valid_acc"


@dataclass
class SearchResult:
    best: Arch
    score: float
    history: list[tuple[Arch, float]] = field(default_factory=list)  # in evaluation order


def uniform_at_budget(space: ModelWidthSpace, fits: Callable[[Arch], bool]) -> Arch:
    """The largest uniform ratio whose widths fit (bisection on the ratio; the smallest widths if none does)."""
    low, high = 0.0, 1.0
    if fits(space.largest()):
        return space.largest()
    for _ in range(30):
        mid = (low + high) / 2
        low, high = (mid, high) if fits(space.uniform(mid)) else (low, mid)
    return space.uniform(low)


def search_widths(space: ModelWidthSpace, score: Callable[[Arch], float], fits: Callable[[Arch], bool],
                  cost: Callable[[Arch], Cost], evaluations: int = 80, population: int = 12,
                  seed: int = 0) -> SearchResult:
    """Maximise ``score`` over width configurations that ``fit``, with at most ``evaluations`` scored."""
    if not fits(space.smallest()):
        raise ArchfitError("no width configuration fits the budget, not even the smallest widths")
    strategy = BoundaryEvolution(population=population, seeds=[uniform_at_budget(space, fits)])
    strategy.start(Problem(space, METRIC, fits, cost, seed=seed))
    seen: set[str] = set()
    history: list[tuple[Arch, float]] = []
    stale = 0
    while len(history) < evaluations and stale < 20 * population:
        arch = strategy.ask()
        if arch.key in seen or not fits(arch):  # the space is exhausted near the boundary, or nothing fits
            stale += 1
            continue
        seen.add(arch.key)
        value = float(score(arch))
        history.append((arch, value))
        strategy.tell(Trial(len(history) - 1, arch, TrialState.COMPLETE, cost(arch), {METRIC: value}))
    best, value = max(history, key=lambda entry: entry[1])
    return SearchResult(best, value, history)


def confirm_best(history: list[tuple[Arch, float]], confirm: Callable[[Arch], bool],
                 tries: int = 10) -> tuple[Arch, float] | None:
    """The best-scored configuration that passes ``confirm``, trying the ``tries`` best in score order.

    Why: a feasibility test that is itself noisy (latency timed with few repeats) lets the search keep the
    candidates that happened to measure fast, and the winner is the likeliest of them to be over budget.
    A second, more careful check of the winner (then the runners-up) keeps that bias out of the result.
    """
    for widths, value in sorted(history, key=lambda entry: -entry[1])[:tries]:
        if confirm(widths):
            return widths, value
    return None
