"""Tables (plain text, Markdown-compatible) and HTML reports of the tabular benchmark (proxies: proxies_report)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from archfit.benchmark.tabular import StrategyRuns
from archfit.report.html import Report
from archfit.report.plots import curves_plot

REGRET_FLOOR = 1e-3  # regrets are drawn at least this large so a log axis can show a run that hit the optimum


def markdown_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [line(r) for r in rows])


def tabular_tables(data: dict[str, Any], column: str) -> str:
    """Best value (mean ± std over seeds), mean regret, and relative improvement RI, per checkpoint."""
    optimum, average = data["optimum"], data["random_average"]
    checkpoints = list(next(iter(data["strategies"].values())).keys())
    best_rows, regret_rows = [], []
    for name, points in data["strategies"].items():
        best_rows.append([name] + [f"{points[q]['mean']:.3f} ± {points[q]['std']:.3f}" for q in checkpoints])
        regret_rows.append([name] + [f"{optimum - points[q]['mean']:.3f} / {100 * (points[q]['mean'] - average) / average:.2f}"
                                     for q in checkpoints])
    head = ["strategy"] + [f"@{q}" for q in checkpoints]
    return (f"best {column} after N charged queries (mean ± std over seeds; optimum {optimum:.3f})\n"
            + markdown_table(head, best_rows)
            + f"\n\nregret to the optimum / RI = improvement over the random-average architecture "
              f"({average:.3f}), in % of it\n" + markdown_table(head, regret_rows))


def write_tabular_report(out: Path, data: dict[str, Any], results: dict[str, StrategyRuns], column: str,
                         command: str) -> Path:
    optimum = data["optimum"]
    report = Report(f"archfit bench nb201 — {column}")
    report.add_text(f"Command: {command}")
    report.add_text(f"{data['seeds']} seeds (0..{data['seeds'] - 1}) per strategy, up to {data['queries']} charged "
                    f"queries each. A query is charged once per isomorphism class; repeats are free. Optimum of the "
                    f"table over valid classes: {optimum:.4f}; random-average architecture: "
                    f"{data['random_average']:.4f} (units of {column}).", note=True)
    report.add_heading("Best value after N charged queries")
    header = ["strategy"] + [f"@{q} mean ± std" for q in data["strategies"][next(iter(results))]] + ["seconds / seed"]
    report.add_table(header, [[name] + [f"{p['mean']:.3f} ± {p['std']:.3f}" for p in points.values()]
                              + [f"{np.mean(results[name].seconds):.2f}"]
                              for name, points in data["strategies"].items()])
    regret, best = {}, {}
    for name, runs in results.items():
        curves = np.asarray(runs.curves)
        x = list(range(1, curves.shape[1] + 1))
        gap = np.maximum(optimum - curves, REGRET_FLOOR)
        regret[name] = (x, gap.mean(axis=0).tolist(), gap.std(axis=0).tolist())
        best[name] = (x, curves.mean(axis=0).tolist(), curves.std(axis=0).tolist())
    report.add_heading("Regret vs queries")
    report.add_figure("regret", curves_plot(regret, "charged queries", f"regret (optimum − best {column})", log_y=True),
                      f"Mean regret over seeds (band ±1 std; floored at {REGRET_FLOOR} for the log scale).")
    report.add_figure("best", curves_plot(best, "charged queries", f"best {column} so far"),
                      "Mean best value found so far (band ±1 std).")
    return report.write(out)
