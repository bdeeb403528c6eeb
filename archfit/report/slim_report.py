"""The report of an ``archfit slim`` run, built from its ``results.json`` content."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from archfit.report.html import Report
from archfit.report.plots import bar_plot
from archfit.units import format_quantity


def write_slim_report(results: dict[str, Any], out: Path) -> Path:
    config = results["config"]
    report = Report(f"archfit slim — {config['model']} on {results['data']['name']}")
    report.add_text(f"Budget: {results['budget_text']}. {results['reach']} Seed {config['seed']}. "
                    f"Fine-tuning: {config['finetune_epochs']} epochs with distillation from the original model "
                    f"for every method; the width supernet trained {config['supernet_epochs']} further epochs "
                    f"(sandwich rule) and the search scored {config['evaluations']} width configurations. "
                    f"Wall time {results['seconds']:.1f} s.")
    methods = results["methods"]
    report.add_heading("Methods side by side")
    rows = []
    if methods:
        b = methods[0]["before"]
        rows.append(["original", f"{100 * b['test_acc']:.2f} %", "", format_quantity(b["flops"]), "1.00",
                     format_quantity(b["params"]), f"{b['latency_ms']:.3f}", "1.00"])
    for m in methods:
        b, a = m["before"], m["after"]
        rows.append([m["method"], f"{100 * a['test_acc']:.2f} %", f"{100 * m['test_acc_before_finetune']:.2f} %",
                     format_quantity(a["flops"]), f"{b['flops'] / a['flops']:.2f}", format_quantity(a["params"]),
                     f"{a['latency_ms']:.3f}", f"{b['latency_ms'] / a['latency_ms']:.2f}"])
    report.add_table(["method", "test acc", "test acc before fine-tuning", "FLOPs", "FLOPs reduction (x)", "params",
                      f"latency (ms, {results.get('latency_runtime', 'torch')})", "latency speedup (x)"], rows)
    for name, text in results["units"].items():
        report.add_text(f"{name}: {text}", note=True)

    report.add_heading("Per-layer widths")
    groups = results["groups"]
    series = {"original": [g["channels"] for g in groups]}
    for m in methods:
        series[m["method"]] = [m["widths"].get(g["name"], g["channels"]) for g in groups]
    report.add_figure("widths", bar_plot([g["name"] for g in groups], series, "output channels"),
                      "Output channels of each searchable channel group (named by its root layer), per method.")
    report.add_table(["group (root layer)", "channels", "width choices", "layers sharing these channels"],
                     [[g["name"], g["channels"], " ".join(map(str, g["choices"])), ", ".join(g["members"])]
                      for g in groups])
    if results["left_out"]:
        report.add_heading("Channel groups kept at full width")
        report.add_table(["group", "channels", "why"], [[lo["name"], lo["channels"], lo["reason"]]
                                                      for lo in results["left_out"]])
    return report.write(out)
