"""``SearchResult``: the one result of ``archfit search``, whatever the method; ``to_dict()`` is results.json."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from archfit import __version__
from archfit.cost.budget import Budget, Cost
from archfit.method.base import Final, Method, MethodContext, Outcome
from archfit.metrics import hypervolume_2d, pareto_front
from archfit.space.base import Arch
from archfit.trial import Trial, TrialState


@dataclass(frozen=True)
class Best:
    """The chosen architecture after finalize: ``metrics`` and ``cost`` are of the final model (or table)."""

    trial: int
    arch: Arch
    metrics: dict[str, float]
    cost: Cost
    training: dict[str, Any] | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"trial": self.trial, "arch": dict(self.arch), "key": self.arch.key, "metrics": self.metrics,
                "cost": self.cost.to_dict(), "final_training": self.training, **self.details}


@dataclass(frozen=True)
class SearchResult:
    config: dict[str, Any]
    data: dict[str, Any]
    space: dict[str, Any]  # spec
    space_size: int
    strategy: str
    estimator: str
    budget: Budget
    best: Best
    trials: list[Trial]
    pareto: list[dict[str, Any]]
    hypervolume: dict[str, Any]
    units: dict[str, str]
    extras: dict[str, Any] = field(default_factory=dict)  # method-specific top-level keys
    timing: dict[str, float] = field(default_factory=dict)
    model: nn.Module | None = field(default=None, compare=False)  # the final model (None: nothing trained)

    @property
    def n_trials(self) -> int:
        return sum(t.state is TrialState.COMPLETE for t in self.trials)

    def to_dict(self) -> dict[str, Any]:
        out = {"archfit_version": __version__, "command": "search", "config": self.config, "data": self.data,
               "space": self.space, "space_size": self.space_size, "strategy": self.strategy,
               "estimator": self.estimator, "budget": self.budget.to_dict(), "budget_text": self.budget.describe(),
               "best": self.best.to_dict(), "pareto": self.pareto, "hypervolume": self.hypervolume,
               "n_trials": self.n_trials, "n_failed": sum(t.state is TrialState.FAILED for t in self.trials),
               "trials": [t.to_dict() for t in self.trials], "units": self.units, **self.extras}
        if self.timing:
            out["timing"] = self.timing
        return out


def build_result(method: Method, ctx: MethodContext, outcome: Outcome, final: Final,
                 timing: dict[str, float]) -> SearchResult:
    """The result of any method: Pareto front and hypervolume over the completed trials (search scores)."""
    metric, cost_metric = outcome.metric, ctx.budget.primary
    complete = [t for t in outcome.trials if t.state is TrialState.COMPLETE]
    values = [t.metrics[metric] for t in complete]
    costs = [t.cost.value(cost_metric) for t in complete]
    front = pareto_front(values, costs)
    ref_cost = ctx.budget.bound(cost_metric) or max(costs) * 1.1
    floor = method.metric_floor(values)
    best = outcome.best
    return SearchResult(
        config=ctx.config.to_dict(), data=method.data_info(ctx), space=ctx.space.spec(),
        space_size=ctx.space.size(), strategy=ctx.config.strategy, estimator=outcome.estimator, budget=ctx.budget,
        best=Best(best.number, best.arch, final.metrics, final.cost, final.training, final.details),
        trials=list(outcome.trials),
        pareto=[{"trial": complete[i].number, "arch": dict(complete[i].arch), metric: values[i],
                 "flops": complete[i].cost.flops, "params": complete[i].cost.params} for i in front],
        hypervolume={"value": hypervolume_2d(values, costs, floor, ref_cost), "metric": metric,
                     "cost_metric": cost_metric, "reference": {metric: floor, cost_metric: ref_cost}},
        units=final.units, extras=dict(outcome.extras), timing=timing, model=final.model)
