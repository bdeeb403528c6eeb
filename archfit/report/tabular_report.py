"""The report and terminal summary of an ``archfit search --estimator tabular`` run (from ``results.json``).

The value of the chosen arch is the table's (training done elsewhere); no model was trained or saved.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from archfit.cost.budget import FIELDS as COST_FIELDS
from archfit.metrics import best_so_far
from archfit.report.html import Report
from archfit.report.plots import history_plot, pareto_plot
from archfit.units import format_quantity


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
             (f"  FLOPs (2xMACs, batch 1): {format_quantity(best['cost']['flops'])}, "
              f"params: {format_quantity(best['cost']['params'])}"
              + "".join(f", {m}: {format_quantity(v)}" for m, v in best["cost"].items()
                        if m not in COST_FIELDS and v is not None)
              + (f" (device {results['config']['device']}, from the latency table)"
                 if results.get("config", {}).get("device") else "")),
             f"  results.json and report.html in {out} (tabular: no model trained or saved)"]
    print("\n".join(lines), file=sys.stdout)
