"""``Trial``: the immutable record of one architecture evaluated (or being evaluated) in a search."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from archfit.cost.budget import Cost
from archfit.space.base import Arch


class TrialState(str, Enum):
    RUNNING = "running"  # written before the estimate starts; left behind only by a crash
    COMPLETE = "complete"
    FAILED = "failed"  # the estimate raised or produced a non-finite metric


@dataclass(frozen=True)
class Trial:
    number: int
    arch: Arch
    state: TrialState
    cost: Cost | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    fidelity: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

    def value(self, metric: str) -> float | None:
        """The metric if the trial completed with it, else None (failed trials rank last)."""
        if self.state is not TrialState.COMPLETE:
            return None
        return self.metrics.get(metric)

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "arch": dict(self.arch),
            "key": self.arch.key,
            "state": self.state.value,
            "cost": self.cost.to_dict() if self.cost else None,
            "metrics": self.metrics,
            "fidelity": self.fidelity,
            "seconds": self.seconds,
            "error": self.error,
        }

    @classmethod
    def from_row(cls, number: int, arch: str, state: str, cost: str | None, metrics: str | None,
                 fidelity: str | None, seconds: float | None, error: str | None) -> Trial:
        return cls(
            number, Arch.from_json(arch), TrialState(state),
            Cost.from_dict(json.loads(cost)) if cost else None,
            json.loads(metrics) if metrics else {}, json.loads(fidelity) if fidelity else {},
            seconds or 0.0, error,
        )


def choose_best(complete: list[Trial], metric: str, cost_metric: str, larger_on_tie: bool = False) -> Trial:
    """The completed trial with the highest ``metric``; among equal scores the cheaper one in ``cost_metric``
    (or the costlier with ``larger_on_tie``: for an estimator too coarse to separate them), then the earlier."""
    sign = 1 if larger_on_tie else -1
    return max(complete, key=lambda t: (t.metrics[metric], sign * t.cost.value(cost_metric), -t.number))
