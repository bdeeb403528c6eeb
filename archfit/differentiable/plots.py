"""Report figures of a differentiable search (PNG bytes): alpha trajectories per edge, the derived cell."""

from __future__ import annotations

from collections.abc import Sequence

from archfit.report.plots import _png, plt


def alpha_plot(history: Sequence[Sequence[Sequence[float]]], edges: Sequence[str], ops: Sequence[str]) -> bytes:
    """One panel per edge: each op's score (the method's derivation score) against the epoch."""
    cols = min(3, len(edges))
    rows = (len(edges) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.4 * cols, 2.4 * rows), squeeze=False, sharex=True)
    epochs = list(range(1, len(history) + 1))
    for k, name in enumerate(edges):
        ax = axes[k // cols][k % cols]
        for i, op in enumerate(ops):
            ax.plot(epochs, [h[k][i] for h in history], lw=1.5, label=op)
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
    for k in range(len(edges), rows * cols):
        axes[k // cols][k % cols].axis("off")
    axes[0][0].legend(fontsize=6, loc="best")
    fig.supxlabel("epoch")
    fig.supylabel("score (method's derivation weight)")
    return _png(fig)


def cell_plot(edges: Sequence[tuple[int, int]], ops: Sequence[str]) -> bytes:
    """The derived cell as a DAG: nodes on a line, one labelled arc per edge (``none`` edges dashed)."""
    nodes = max(max(e) for e in edges) + 1
    fig, ax = plt.subplots(figsize=(1.9 * nodes, 2.8))
    for n in range(nodes):
        ax.scatter([n], [0], s=500, color="lightsteelblue", edgecolor="k", zorder=3)
        ax.text(n, 0, str(n), ha="center", va="center", zorder=4)
    for (to, src), op in zip(edges, ops):
        span = to - src
        height = 0.35 * span * (1 if (src + to) % 2 else -1)
        xs = [src + (to - src) * s / 20 for s in range(21)]
        ys = [height * 4 * (s / 20) * (1 - s / 20) for s in range(21)]
        ax.plot(xs, ys, ls="--" if op == "none" else "-", color="grey" if op == "none" else "tab:blue", lw=1.3)
        ax.text((src + to) / 2, height, op, ha="center", va="center", fontsize=7,
                bbox={"facecolor": "white", "edgecolor": "none", "pad": 1})
    ax.set_xlim(-0.5, nodes - 0.5)
    ax.axis("off")
    return _png(fig)
