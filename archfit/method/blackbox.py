"""Black-box methods: a strategy asks, an estimator scores, the job's loop records (``ctx.search``).

``train`` scores each candidate by training it from scratch and trains the chosen one again for
``final_epochs``; ``tabular`` looks candidates up in a NAS-Bench-201-style table and trains nothing (the
table's numbers come from training done elsewhere, so the chosen arch's value *is* the table's).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archfit.estimate.base import Estimator
from archfit.estimate.tabular import TabularEstimator
from archfit.estimate.train import TrainEstimator
from archfit.method import register_method
from archfit.method.base import Final, Method, MethodContext, Outcome
from archfit.space.capabilities import TextForm


def search_with(ctx: MethodContext, estimator: Estimator, extras: dict[str, Any] | None = None) -> Outcome:
    """Run the job's black-box loop over ``estimator`` and pick the best trial."""
    if ctx.search is None:
        raise RuntimeError("black-box methods need the job's search loop (MethodContext.search)")
    return Outcome.of_trials(ctx.search(estimator), estimator, extras, ctx.budget.primary)


@register_method("train")
class TrainMethod(Method):
    """Train every candidate from scratch for ``epochs``; the chosen one again for ``final_epochs``."""

    family = "black-box"

    def run(self, ctx: MethodContext) -> Outcome:
        return search_with(ctx, TrainEstimator(ctx.space, ctx.data, ctx.config.train_config(ctx.config.epochs)))


@register_method("tabular")
class TabularMethod(Method):
    """Look candidates up in ``--table``; finalize by lookup (no model is trained or saved)."""

    family = "black-box"
    needs_data = False  # the table fixes the data: the space keeps its own (standard) input shape

    def prepare(self, ctx: MethodContext) -> None:
        self.estimator_ = TabularEstimator(ctx.space, ctx.config.table, ctx.config.column)  # a bad table fails here

    def run(self, ctx: MethodContext) -> Outcome:
        return search_with(ctx, self.estimator_, {"estimator_kind": "tabular", "optimum": self.estimator_.optimum()})

    def finalize(self, ctx: MethodContext, outcome: Outcome) -> Final:
        best, metric, table = outcome.best, outcome.metric, self.estimator_.table
        arch_string = ctx.space.format(best.arch) if isinstance(ctx.space, TextForm) else None
        return Final({metric: best.metrics[metric]}, best.cost, details={"arch_string": arch_string},
                     units={"flops": "FLOPs = 2 x MACs of one batch-1 forward pass of the built network "
                                     "(FlopCounterMode)",
                            metric: f"column {metric!r} of {table}, in the table's own units"})

    def data_info(self, ctx: MethodContext) -> dict[str, Any]:
        return {"name": f"table {self.estimator_.table.name}", "column": self.estimator_.metric}

    def metric_floor(self, values: list[float]) -> float:
        return min(values)  # the table's own units: the worst value queried is the reference

    def write_report(self, results: dict[str, Any], out: Path) -> Path:
        from archfit.report.tabular_report import write_tabular_report

        return write_tabular_report(results, out)

    def print_summary(self, results: dict[str, Any], out: str) -> None:
        from archfit.report.tabular_report import print_tabular_summary

        print_tabular_summary(results, out)
