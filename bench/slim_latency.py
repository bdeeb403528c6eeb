"""Benchmark: how much latency can narrowing a model buy on this CPU at all?

The slim benchmark's speedups (``bench/slim.py``) mix two things: which channels a method keeps, and
whether this CPU turns fewer FLOPs into less time for models of that size. This script isolates the
second: for each reference model, at the size ``bench/slim.py`` trains and at the built-in default
size, it builds physically narrower copies by scaling every width by the same factor (no training:
latency does not depend on weight values), and measures the speedup against the FLOPs reduction at
batch 1 and batch 64, 1 thread, with alternating paired rounds (median of per-round ratios) so load
changes on a shared machine cancel out. The issue's target is speedup >= 0.8x the FLOPs reduction.
Each runtime archfit can time in (``--runtime``: eager PyTorch, onnxruntime, or both) gets its own rows;
onnxruntime times a fresh in-memory export and session every round, exactly as ``measure_latency`` does.

    python bench/slim_latency.py --runtime both --out bench/results/slim_latency.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

from archfit.compress.spec import build_model, fill_args
from archfit.cost import RUNTIMES, count_flops, measure_latency
from archfit.io import atomic_write_json

# name: (model spec, constructor args at scale 1, input shape); "bench" = the size bench/slim.py trains
MODELS = {
    "cnn1d bench (16-64 ch)": ("cnn1d", {"channels": [16, 32, 32, 64, 64]}, (1, 40)),
    "cnn1d default (32-128 ch)": ("cnn1d", {"channels": [32, 64, 64, 128, 128]}, (1, 40)),
    "resnet1d bench (width 16)": ("resnet1d", {"depth": 8, "width": 16}, (1, 40)),
    "resnet1d default (width 32)": ("resnet1d", {"depth": 8, "width": 32}, (1, 40)),
    "resnet20 bench (width 8, 8x8)": ("resnet20", {"width": 8}, (1, 8, 8)),
    "resnet20 default (width 16, 32x32)": ("resnet20", {"width": 16}, (3, 32, 32)),
}
SCALES = (0.71, 0.5)  # width factors: about 2x and 4x fewer FLOPs


def scaled(args: dict, factor: float) -> dict:
    """Every width argument multiplied by ``factor`` (rounded, at least 1 channel)."""
    out = dict(args)
    if "channels" in out:
        out["channels"] = [max(1, round(c * factor)) for c in out["channels"]]
    if "width" in out:
        out["width"] = max(1, round(out["width"] * factor))
    return out


def paired_speedup(full: torch.nn.Module, small: torch.nn.Module, shape: tuple[int, ...], batch: int,
                   repeats: int, rounds: int, runtime: str) -> tuple[float, float, float]:
    """Median over ``rounds`` of full/small latency ratios, and the median ms of each model (1 thread)."""
    full_ms, small_ms = [], []
    for _ in range(rounds):
        full_ms.append(measure_latency(full, shape, batch=batch, repeats=repeats, threads=1, runtime=runtime).median_ms)
        small_ms.append(measure_latency(small, shape, batch=batch, repeats=repeats, threads=1, runtime=runtime).median_ms)
    ratios = np.array(full_ms) / np.array(small_ms)
    return float(np.median(ratios)), float(np.median(full_ms)), float(np.median(small_ms))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/slim_latency.json"))
    parser.add_argument("--rounds", type=int, default=7, help="alternating timing rounds per pair")
    parser.add_argument("--runtime", default="both", choices=[*RUNTIMES, "both"],
                        help="what runs the timed passes (default both: one set of rows each)")
    args = parser.parse_args(argv)
    runtimes = RUNTIMES if args.runtime == "both" else (args.runtime,)
    torch.set_num_threads(1)
    rows = []
    print(f"{'model':36s} {'runtime':>11s} {'width x':>7s} {'FLOPs ÷':>8s} {'full ms b=1':>11s} "
          f"{'speedup b=1':>11s} {'b=64':>6s} {'b=1 / FLOPs÷':>12s} {'b=64 / FLOPs÷':>13s}")
    for name, (spec, base, shape) in MODELS.items():
        full = build_model(spec, fill_args(spec, base, shape, 10)).eval()
        full_flops = count_flops(full, shape)
        for factor in SCALES:
            small = build_model(spec, fill_args(spec, scaled(base, factor), shape, 10)).eval()
            reduction = full_flops / count_flops(small, shape)
            for runtime in runtimes:
                b1, full_ms, small_ms = paired_speedup(full, small, shape, 1, 30, args.rounds, runtime)
                b64 = paired_speedup(full, small, shape, 64, 8, args.rounds, runtime)[0]
                rows.append({"model": name, "spec": spec, "args": base, "width_factor": factor, "runtime": runtime,
                             "flops_reduction": reduction, "full_ms_b1": full_ms, "small_ms_b1": small_ms,
                             "speedup_b1": b1, "speedup_b64": b64,
                             "b1_vs_flops": b1 / reduction, "b64_vs_flops": b64 / reduction})
                print(f"{name:36s} {runtime:>11s} {factor:>7.2f} {reduction:>7.2f}x {full_ms:>11.3f} {b1:>10.2f}x "
                      f"{b64:>5.2f}x {b1 / reduction:>12.2f} {b64 / reduction:>13.2f}", flush=True)
    load = os.getloadavg()[0]
    print(f"1 thread, {args.rounds} paired rounds; load average (1 min) at the end {load:.1f} on "
          f"{os.cpu_count()} CPUs; target: speedup / FLOPs reduction >= 0.8")
    atomic_write_json(args.out, {"rows": rows, "rounds": args.rounds, "runtimes": list(runtimes),
                                 "load_avg_1min_end": load,
                                 "units": {"flops_reduction": "x", "speedup_b1": "x", "speedup_b64": "x",
                                           "full_ms_b1": "ms, median over rounds of the per-round median",
                                           "small_ms_b1": "ms, median over rounds of the per-round median"}})
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
