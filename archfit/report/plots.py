"""Figures as PNG bytes (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def pareto_plot(costs: Sequence[float], values: Sequence[float], front: Sequence[int], chosen: int | None,
                cost_label: str, value_label: str, bound: float | None = None) -> bytes:
    """Every trial as a dot, the Pareto front as a step line, the chosen arch as a star."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    ax.scatter(costs, values, s=18, alpha=0.55, label="trials")
    if front:
        fx, fy = [costs[i] for i in front], [values[i] for i in front]
        ax.step(fx, fy, where="post", color="tab:red", lw=1.5, label="Pareto front")
        ax.scatter(fx, fy, s=28, color="tab:red")
    if chosen is not None:
        ax.scatter([costs[chosen]], [values[chosen]], marker="*", s=220, color="gold", edgecolor="k",
                   zorder=5, label="chosen")
    if bound is not None:
        ax.axvline(bound, color="grey", ls="--", lw=1, label="budget")
    ax.set_xlabel(cost_label)
    ax.set_ylabel(value_label)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def history_plot(numbers: Sequence[int], values: Sequence[float], running_best: Sequence[float],
                 value_label: str) -> bytes:
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    ax.scatter(numbers, values, s=16, alpha=0.6, label="trial")
    ax.plot(numbers, running_best, color="tab:green", lw=1.8, label="best so far")
    ax.set_xlabel("trial")
    ax.set_ylabel(value_label)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return _png(fig)


def curves_plot(curves: dict[str, tuple[Sequence[float], Sequence[float], Sequence[float]]],
                xlabel: str, ylabel: str, log_y: bool = False) -> bytes:
    """Lines with a shaded ±std band: ``{label: (x, mean, std)}``."""
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, (x, mean, std) in curves.items():
        line, = ax.plot(x, mean, lw=1.8, label=label)
        ax.fill_between(x, [m - s for m, s in zip(mean, std)], [m + s for m, s in zip(mean, std)],
                        color=line.get_color(), alpha=0.15)
    if log_y:
        ax.set_yscale("log")
    ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    return _png(fig)


def scatter_plot(x: Sequence[float], y: Sequence[float], xlabel: str, ylabel: str, title: str = "") -> bytes:
    fig, ax = plt.subplots(figsize=(4.6, 4.0))
    ax.scatter(x, y, s=18, alpha=0.7)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    return _png(fig)


def bar_plot(labels: Sequence[str], series: dict[str, Sequence[float]], ylabel: str) -> bytes:
    """Grouped bars: one group per label, one bar per series."""
    fig, ax = plt.subplots(figsize=(max(6.4, 0.35 * len(labels) * max(1, len(series))), 3.8))
    width = 0.8 / max(1, len(series))
    for k, (name, values) in enumerate(series.items()):
        ax.bar([i + k * width for i in range(len(labels))], values, width=width, label=name)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))])
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _png(fig)
