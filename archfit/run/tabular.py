"""The end of an ``archfit search --estimator tabular`` run: nothing to train, the table is the truth.

The chosen arch is the best trial by the table's metric; ``results.json`` reports that table value as
``best.metrics`` (in the table's units, e.g. % test accuracy), the cost measured on the built network,
and the arch string. No weights are written: the table's numbers come from training done elsewhere.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from archfit import __version__
from archfit.config import SearchConfig
from archfit.cost.budget import Budget
from archfit.errors import ArchfitError
from archfit.estimate.tabular import TabularEstimator
from archfit.metrics import best_so_far, hypervolume_2d, pareto_front
from archfit.report.html import Report
from archfit.report.plots import history_plot, pareto_plot
from archfit.run.trial import Trial, TrialState, choose_best
from archfit.space.base import Space
from archfit.units import format_quantity


def finish_tabular(config: SearchConfig, space: Space, budget: Budget, trials: list[Trial],
                   estimator: TabularEstimator) -> dict[str, Any]:
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    if not complete:
        raise ArchfitError(f"no trial completed ({len(trials)} failed)")
    metric, cost_metric = estimator.metric, budget.primary
    best = choose_best(complete, metric, cost_metric)
    values = [t.metrics[metric] for t in complete]
    costs = [t.cost.value(cost_metric) for t in complete]
    front = pareto_front(values, costs)
    ref_cost = budget.bound(cost_metric) or max(costs) * 1.1
    floor = min(values)
    return {
        "archfit_version": __version__, "command": "search", "config": config.to_dict(),
        "data": {"name": f"table {estimator.table.name}", "column": metric},
        "space": space.spec(), "space_size": space.size(), "strategy": config.strategy,
        "estimator": estimator.describe(), "estimator_kind": "tabular",
        "budget": budget.to_dict(), "budget_text": budget.describe(),
        "optimum": estimator.optimum(),
        "best": {"trial": best.number, "arch": dict(best.arch), "key": best.arch.key,
                 "arch_string": space.format(best.arch) if hasattr(space, "format") else None,
                 "metrics": {metric: best.metrics[metric]}, "cost": best.cost.to_dict(),
                 "final_training": None},
        "pareto": [{"trial": complete[i].number, "arch": dict(complete[i].arch), metric: values[i],
                    "flops": complete[i].cost.flops, "params": complete[i].cost.params} for i in front],
        "hypervolume": {"value": hypervolume_2d(values, costs, floor, ref_cost), "metric": metric,
                        "cost_metric": cost_metric, "reference": {metric: floor, cost_metric: ref_cost}},
        "n_trials": len(complete), "n_failed": sum(t.state is TrialState.FAILED for t in trials),
        "trials": [t.to_dict() for t in trials],
        "units": {"flops": "FLOPs = 2 x MACs of one batch-1 forward pass of the built network (FlopCounterMode)",
                  metric: f"column {metric!r} of {estimator.table}, in the table's own units"},
        "_final_seconds": 0.0,
    }


def write_tabular_report(results: dict[str, Any], out: Path) -> Path:
    best, metric = results["best"], results["data"]["column"]
    cost_metric = results["hypervolume"]["cost_metric"]
    report = Report(f"archfit search — {results['data']['name']}, space {results['space']['name']}")
    report.add_text(f"Strategy {results['strategy']}, {results['n_trials']} architectures queried, estimator: "
                    f"{results['estimator']}. Budget: {results['budget_text']}. Table optimum {results['optimum']:.4f}.")
    report.add_heading("Chosen architecture")
    report.add_table(["trial", metric, "regret to the table optimum", "FLOPs", "params", "arch"], [[
        best["trial"], f"{best['metrics'][metric]:.4f}", f"{results['optimum'] - best['metrics'][metric]:.4f}",
        format_quantity(best["cost"]["flops"]), format_quantity(best["cost"]["params"]),
        best["arch_string"] or str(best["arch"])]])
    report.add_text("Tabular search: the value is the table's (training done elsewhere); no model was trained "
                    "or saved here.", note=True)
    trials = [t for t in results["trials"] if t["state"] == "complete"]
    values = [t["metrics"][metric] for t in trials]
    costs = [t["cost"][cost_metric] for t in trials]
    numbers = {p["trial"] for p in results["pareto"]}
    front = sorted((i for i, t in enumerate(trials) if t["number"] in numbers), key=lambda i: costs[i])
    chosen = next((i for i, t in enumerate(trials) if t["number"] == best["trial"]), None)
    report.add_heading("Pareto front")
    report.add_figure("pareto", pareto_plot(costs, values, front, chosen, cost_metric, metric,
                                            results["budget"].get(f"max_{cost_metric}")),
                      f"{metric} vs {cost_metric} of every queried architecture.")
    report.add_heading("Search history")
    report.add_figure("history", history_plot([t["number"] for t in trials], values, best_so_far(values), metric),
                      "Each query's table value in order, and the best so far.")
    return report.write(out)


def print_tabular_summary(results: dict[str, Any], out: str) -> None:
    best, metric = results["best"], results["data"]["column"]
    lines = [f"archfit search — {results['n_trials']} table queries, {results['strategy']}",
             f"  best {metric}: {best['metrics'][metric]:.4f} (table optimum {results['optimum']:.4f})",
             f"  arch: {best['arch_string'] or best['arch']}",
             f"  FLOPs (2xMACs, batch 1): {format_quantity(best['cost']['flops'])}, "
             f"params: {format_quantity(best['cost']['params'])}",
             f"  results.json and report.html in {out} (tabular: no model trained or saved)"]
    print("\n".join(lines), file=sys.stdout)
