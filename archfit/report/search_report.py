"""The report of an ``archfit search`` run, built from its ``results.json`` content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archfit.metrics import best_so_far
from archfit.report.html import Report
from archfit.report.plots import bar_plot, history_plot, pareto_plot
from archfit.units import format_quantity

COST_LABELS = {"flops": "FLOPs (2×MACs, batch 1)", "params": "parameters", "latency_ms": "latency (ms, batch 1, median)"}


def write_search_report(results: dict[str, Any], out: Path) -> Path:
    best, config = results["best"], results["config"]
    cost_metric = results["hypervolume"]["cost_metric"]
    report = Report(f"archfit search — {results['data']['name']}, space {results['space']['name']}")
    report.add_text(f"Strategy {results['strategy']}, {results['n_trials']} architectures evaluated "
                    f"({results['n_failed']} failed), estimator: {results['estimator']}. "
                    f"Budget: {results['budget_text']}. Seed {config['seed']}. "
                    f"Wall time {results['timing']['total_seconds']:.1f} s.")

    report.add_heading("Chosen model")
    cost, metrics = best["cost"], best["metrics"]
    runtime = cost.get("latency_runtime") or "torch"  # results written before runtimes existed: eager PyTorch
    latency_header = f"latency median / p90 (ms, {runtime})"
    report.add_table(["trial", "valid acc", "test acc", "FLOPs", "params", latency_header], [[
        best["trial"], f"{100 * metrics['valid_acc']:.2f} %", f"{100 * metrics['test_acc']:.2f} %",
        format_quantity(cost["flops"]), format_quantity(cost["params"]),
        f"{cost['latency_ms']:.3f} / {cost['latency_p90_ms']:.3f}"]])
    report.add_text(f"Trained from scratch for {best['final_training']['epochs']} epochs on the training split; "
                    "the test split was used only here. Architecture: "
                    + ", ".join(f"{k}={v}" for k, v in best["arch"].items()), note=True)
    for name, text in results["units"].items():
        report.add_text(f"{name}: {text}", note=True)

    trials = [t for t in results["trials"] if t["state"] == "complete"]
    values = [t["metrics"]["valid_acc"] for t in trials]
    costs = [t["cost"][cost_metric] for t in trials]
    front_numbers = {p["trial"] for p in results["pareto"]}
    front = sorted((i for i, t in enumerate(trials) if t["number"] in front_numbers), key=lambda i: costs[i])
    chosen = next((i for i, t in enumerate(trials) if t["number"] == best["trial"]), None)
    report.add_heading("Pareto front")
    report.add_figure("pareto", pareto_plot(costs, values, front, chosen, COST_LABELS.get(cost_metric, cost_metric), "validation accuracy (search)",
                                            results["budget"].get(f"max_{cost_metric}")),
                      f"Validation accuracy after {config['epochs']} epochs vs {cost_metric}; "
                      f"hypervolume {results['hypervolume']['value']:.4g} (reference {results['hypervolume']['reference']}).")

    report.add_heading("Search history")
    numbers = [t["number"] for t in trials]
    report.add_figure("history", history_plot(numbers, values, best_so_far(values), "validation accuracy"),
                      "Each trial's validation accuracy in the order evaluated, and the best so far.")

    report.add_heading("Per-layer cost of the chosen model")
    layers = [layer for layer in best["layers"] if layer["flops"]]
    report.add_figure("layers", bar_plot([layer["name"] for layer in layers],
                                         {"FLOPs": [layer["flops"] for layer in layers]}, "FLOPs (2×MACs)"),
                      "FLOPs of each convolution / linear layer at batch 1.")
    total = max(1, cost["flops"])
    report.add_table(["layer", "module", "FLOPs", "share", "params"], [[
        layer["name"], layer["kind"], format_quantity(layer["flops"]), f"{100 * layer['flops'] / total:.1f} %",
        layer["params"]] for layer in best["layers"]])

    report.add_heading("Top architectures")
    ranked = sorted(trials, key=lambda t: -t["metrics"]["valid_acc"])[:10]
    report.add_table(["trial", "valid acc", "FLOPs", "params", "seconds", "architecture"], [[
        t["number"], f"{100 * t['metrics']['valid_acc']:.2f} %", format_quantity(t["cost"]["flops"]),
        format_quantity(t["cost"]["params"]), round(t["seconds"], 1),
        " ".join(f"{k}={v}" for k, v in t["arch"].items())] for t in ranked])
    searched = out / "differentiable"  # differentiable search: alpha trajectories and the derived cell
    for name, caption in (("alpha", "architecture weights per edge and operation over the search epochs"),
                          ("cell", "the derived cell")):
        if (searched / f"{name}.png").exists():
            report.add_figure(name, (searched / f"{name}.png").read_bytes(), caption)
    return report.write(out)
