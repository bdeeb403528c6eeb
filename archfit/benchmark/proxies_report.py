"""The proxy benchmark's table (Markdown) and HTML report: τ with its 95% interval per proxy as a bar
chart, and a scatter of ground truth against each proxy's rank."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from scipy.stats import rankdata

from archfit.benchmark.proxies import PUBLISHED
from archfit.benchmark.report import markdown_table
from archfit.report.html import Report
from archfit.report.plots import _png, scatter_plot


def _ci(c: Mapping[str, Any], key: str) -> str:
    lo_hi = c.get(f"{key}_ci95")
    return f"{c[key]:.3f} [{lo_hi[0]:.3f}, {lo_hi[1]:.3f}]" if lo_hi else f"{c[key]:.3f}"


def proxy_table(results: Mapping[str, Mapping[str, Any]]) -> str:
    """One row per proxy (and aggregate), best τ first, with published values where there are some."""
    rows = []
    for name, c in sorted(results.items(), key=lambda kv: -kv[1]["kendall_tau"]):
        tau_rho = PUBLISHED.get(name)
        rows.append([name, _ci(c, "kendall_tau"), _ci(c, "spearman_rho"), str(c["n"]),
                     f"{tau_rho[0]:.3f} / {tau_rho[1]:.3f}" if tau_rho else "-",
                     f"{c['cpu_ms_per_arch']:.0f}" if "cpu_ms_per_arch" in c else "-"])
    return markdown_table(["proxy", "Kendall τ [95% CI]", "Spearman ρ [95% CI]", "n", "published τ / ρ",
                           "CPU ms / arch"], rows)


def tau_bar_plot(results: Mapping[str, Mapping[str, Any]], title: str) -> bytes:
    names = sorted(results, key=lambda n: results[n]["kendall_tau"])
    taus = [results[n]["kendall_tau"] for n in names]
    cis = [results[n].get("kendall_tau_ci95", [t, t]) for n, t in zip(names, taus)]
    err = np.array([[t - lo for t, (lo, _) in zip(taus, cis)], [hi - t for t, (_, hi) in zip(taus, cis)]])
    fig, ax = plt.subplots(figsize=(6.4, 0.3 * len(names) + 1.2))
    ax.barh(names, taus, xerr=err, capsize=3, color="tab:blue", alpha=0.8)
    ax.axvline(0.75, color="tab:red", linestyle="--", linewidth=1, label="target τ = 0.75")
    ax.set_xlabel("Kendall τ with ground truth (bar: 95% bootstrap interval)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="x")
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


def write_report(out: Path, title: str, notes: Sequence[str], sections: Mapping[str, Mapping[str, Any]],
                 scores: Mapping[str, Sequence[float]], truth: Sequence[float], column: str) -> Path:
    """``sections``: heading → ``{proxy: correlation record}``; ``scores``: the per-arch scores to scatter."""
    report = Report(title)
    for note in notes:
        report.add_text(note, note=True)
    for k, (heading, results) in enumerate(sections.items()):
        report.add_heading(heading)
        report.add_table(["proxy", "Kendall τ [95% CI]", "Spearman ρ [95% CI]", "n"],
                         [[n, _ci(c, "kendall_tau"), _ci(c, "spearman_rho"), c["n"]]
                          for n, c in sorted(results.items(), key=lambda kv: -kv[1]["kendall_tau"])])
        report.add_figure(f"tau_{k}", tau_bar_plot(results, heading),
                          "Kendall τ per proxy with its 95% bootstrap interval; dashed: the 0.75 target.")
    report.add_heading("Ground truth against each proxy's rank")
    for name, values in scores.items():
        ranks = rankdata(values) / len(values)
        report.add_figure(f"proxy_{name}", scatter_plot(list(ranks), list(truth), f"{name} rank (fraction)", column,
                                                        name), f"{column} vs the rank of {name}, one dot per arch.")
    return report.write(out)
