"""Run ``archfit slim`` end to end and write its outputs: one folder per method with the slimmed model
(``slim.json`` + safetensors), ``results.json`` and ``report.html``."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from archfit.compress.extract import save_slimmed
from archfit.compress.pipeline import SlimConfig, check_budget, config_dict, prepare, reach_text, run_method
from archfit.cost.latency import RUNTIME_TEXT
from archfit.io import atomic_write_json
from archfit.units import format_quantity

UNITS = {"flops": "FLOPs = 2 x multiply-accumulates of one batch-1 forward pass (torch FlopCounterMode)",
         "params": "parameter count",
         "latency_ms": "median wall-clock ms of a batch-1 forward pass on this CPU (eval mode), "
                       "run by {runtime}",
         "test_acc": "top-1 accuracy on the test split, fraction in [0, 1]"}


def units(config: SlimConfig) -> dict[str, str]:
    """``UNITS`` with the latency line naming the runtime that was timed."""
    return {**UNITS, "latency_ms": UNITS["latency_ms"].format(runtime=RUNTIME_TEXT[config.latency_runtime])}


def run_and_save(config: SlimConfig, out: Path, log=print) -> dict[str, Any]:
    start = time.perf_counter()
    ctx = prepare(config, log=log)
    log(ctx.data.describe())
    for line in ctx.space.describe():
        log(line)
    budget = check_budget(ctx)
    log(f"budget: {budget.describe()}. {reach_text(ctx)}")
    out.mkdir(parents=True, exist_ok=True)  # only now: a refused model or budget leaves nothing behind
    methods = []
    for method in config.methods:
        entry = run_method(ctx, method, log)
        model = entry.pop("model")
        save_slimmed(out / method, model, ctx.data.input_shape,
                     {"model": config.model, "model_args": ctx.model_args, "method": method,
                      "widths": entry["widths"], "data": config.data})
        entry["folder"] = str(out / method)
        methods.append(entry)
    order = {name: i for i, (name, _) in enumerate(ctx.model.named_modules())}
    results = {
        "config": config_dict(config), "data": {"name": ctx.data.name, "input_shape": list(ctx.data.input_shape),
                                                "num_classes": ctx.data.num_classes},
        "budget": budget.to_dict(), "budget_text": budget.describe(), "reach": reach_text(ctx),
        "groups": [{"name": g.name, "channels": g.channels, "choices": list(g.choices), "members": g.members}
                   for g in sorted(ctx.space.groups, key=lambda g: order[g.name])],  # in forward order
        "left_out": [{"name": lo.name, "channels": lo.channels, "reason": lo.reason, "tied_to": lo.tied_to}
                     for lo in ctx.space.left_out],
        "latency_runtime": config.latency_runtime, "latency_threads": config.latency_threads,
        "methods": methods, "units": units(config), "seconds": time.perf_counter() - start,
    }
    atomic_write_json(out / "results.json", results)
    from archfit.report.slim_report import write_slim_report

    write_slim_report(results, out)
    log(summary(results))
    log(f"slimmed models, results.json and report.html in {out}")
    return results


def summary(results: dict[str, Any]) -> str:
    rows = [f"{'method':<9} {'test acc %':>10} {'FLOPs':>8} {'x fewer':>7} {'params':>8} {'latency ms':>10} "
            f"{'speedup':>7}   (latency: batch 1, {results.get('latency_runtime', 'torch')})"]
    for entry in results["methods"]:
        b, a = entry["before"], entry["after"]
        rows.append(f"{entry['method']:<9} {100 * a['test_acc']:>10.2f} {format_quantity(a['flops']):>8} "
                    f"{b['flops'] / a['flops']:>7.2f} {format_quantity(a['params']):>8} {a['latency_ms']:>10.3f} "
                    f"{b['latency_ms'] / a['latency_ms']:>7.2f}")
    first = results["methods"][0]["before"] if results["methods"] else None
    if first:
        rows.insert(1, f"{'original':<9} {100 * first['test_acc']:>10.2f} {format_quantity(first['flops']):>8} "
                       f"{1.0:>7.2f} {format_quantity(first['params']):>8} {first['latency_ms']:>10.3f} {1.0:>7.2f}")
    return "\n".join(rows)
