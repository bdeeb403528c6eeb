"""Terminal output: a progress bar during search and a summary table after (rich)."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from archfit.units import format_quantity

console = Console(stderr=True)


def progress_bar(enabled: bool = True) -> Progress:
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TextColumn("{task.fields[status]}"), TimeElapsedColumn(), TimeRemainingColumn(),
                    console=console, disable=not enabled, transient=False)


def summary_table(results: dict[str, Any]) -> Table:
    best = results["best"]
    cost, metrics = best["cost"], best["metrics"]
    table = Table(title=f"archfit search — {results['n_trials']} trials, {results['strategy']}", show_lines=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row("valid accuracy (final training)", f"{100 * metrics['valid_acc']:.2f} %")
    table.add_row("test accuracy", f"{100 * metrics['test_acc']:.2f} %")
    table.add_row("FLOPs (2×MACs, batch 1)", format_quantity(cost["flops"]))
    table.add_row("parameters", format_quantity(cost["params"]))
    runtime = cost.get("latency_runtime") or "torch"  # results written before runtimes existed: eager PyTorch
    table.add_row(f"latency (median / p90, {cost['latency_threads']} threads, {runtime})",
                  f"{cost['latency_ms']:.3f} / {cost['latency_p90_ms']:.3f} ms")
    table.add_row("budget", results["budget_text"])
    table.add_row("Pareto-front size / hypervolume", f"{len(results['pareto'])} / {results['hypervolume']['value']:.4g}")
    table.add_row("wall time", f"{results['timing']['total_seconds']:.1f} s")
    return table


def print_summary(results: dict[str, Any], out: str) -> None:
    out_console = Console(file=sys.stdout)
    out_console.print(summary_table(results))
    out_console.print(f"model, results.json and report.html in [bold]{out}[/bold]")
