"""The report of an ``archfit compress`` run: one table of every step (accuracy, bytes, FLOPs, onnxruntime
latency at batch 1 and 64), one figure (``compress.png``), the per-layer int8 verdict and the export check."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from archfit.report.html import Report
from archfit.units import format_quantity


def steps_figure(steps: list[dict[str, Any]]) -> bytes:
    """Three panels over the steps: test accuracy (%), deployed size (KB), latency (ms, batch 1 and 64)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [s["step"] for s in steps]
    m = [s["metrics"] for s in steps]
    fig, axes = plt.subplots(1, 3, figsize=(11, 3.2))
    axes[0].plot(names, [100 * r["test_acc"] for r in m], "o-")
    axes[0].set_ylabel("test accuracy (%)")
    axes[1].bar(names, [r["size_bytes"] / 1e3 for r in m], color="tab:orange")
    axes[1].set_ylabel("deployed size (KB)")
    axes[2].plot(names, [r["latency_ms_b1"] for r in m], "o-", label="batch 1")
    axes[2].plot(names, [r["latency_ms_b64"] / 64 for r in m], "s-", label="batch 64, per sample")
    axes[2].set_ylabel("onnxruntime latency (ms)")
    axes[2].legend(fontsize=8)
    for ax in axes:
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def table_rows(steps: list[dict[str, Any]]) -> list[list[str]]:
    first = steps[0]["metrics"]
    rows = []
    for s in steps:
        r = s["metrics"]
        rows.append([s["step"], r["precision"], f"{100 * r['test_acc']:.2f}", f"{r['size_bytes'] / 1e3:.1f}",
                     f"{first['size_bytes'] / r['size_bytes']:.2f}", format_quantity(r["flops"]),
                     format_quantity(r["params"]), f"{r['latency_ms_b1']:.3f}", f"{r['latency_ms_b64']:.3f}",
                     f"{first['latency_ms_b64'] / r['latency_ms_b64']:.2f}", f"{s['seconds']:.0f}"])
    return rows


HEADER = ["step", "precision", "test acc %", "size KB", "smaller (x)", "FLOPs", "params", "latency b1 (ms)",
          "latency b64 (ms)", "speedup b64 (x)", "step time (s)"]


def write_compress_report(results: dict[str, Any], out: Path) -> Path:
    config, steps = results["config"], results["steps"]
    report = Report(f"archfit compress — {config['model']} on {config['data_name']}")
    verdict = "met" if results["fits"] else "NOT met: " + "; ".join(results["violations"])
    report.add_text(f"Steps: {', '.join(config['steps'])}. Budget: {results['budget_text']} ({verdict}). "
                    f"Latency: onnxruntime CPU session, {steps[0]['metrics']['latency_threads']} thread(s), "
                    f"median. Seed {config['seed']}. Wall time {results['seconds']:.0f} s.")
    report.add_heading("Every step")
    report.add_table(HEADER, table_rows(steps))
    report.add_figure("compress", steps_figure(steps), "accuracy, deployed size and onnxruntime latency per step")
    for name, text in results["units"].items():
        report.add_text(f"{name}: {text}", note=True)
    quant = next((s for s in steps if s["step"] == "quantize"), None)
    if quant:
        report.add_heading("Which layers run as integer ops (graph onnxruntime executes)")
        report.add_text(quant["extra"]["summary"])
        report.add_table(["layer", "ONNX node", "float op", "runs as", "integer"],
                         [[r["layer"], r["node"], r["float_op"], r["runs_as"], "yes" if r["integer"] else "NO (float)"]
                          for r in quant["extra"]["layers"]])
    export = next((s for s in steps if s["step"] == "export"), None)
    if export:
        report.add_heading("Export check")
        report.add_table(["check", "value"], [[k, f"{v:.4f}" if isinstance(v, float) else str(v)]
                                              for k, v in export["extra"]["check"].items()])
        report.add_text("files: " + ", ".join(export["extra"]["files"]))
    return report.write(out)


def summary(results: dict[str, Any]) -> str:
    """The step table as aligned text for the terminal."""
    rows = [HEADER] + table_rows(results["steps"])
    widths = [max(len(r[i]) for r in rows) for i in range(len(HEADER))]
    return "\n".join("  ".join(cell.rjust(w) for cell, w in zip(row, widths)) for row in rows)
