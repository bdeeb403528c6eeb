"""Probe: why narrowing ResNet-20 to x0.71 buys nothing in onnxruntime (``bench/slim_latency.py``).

onnxruntime's fastest CPU convolutions use a channel-blocked (NCHWc) layout, applied by its
``ORT_ENABLE_ALL`` graph optimisations and not by ``ORT_ENABLE_EXTENDED``. This times ResNet-20
(3x32x32, batch 1, 1 thread) at several widths under both levels, in alternating rounds (median of
per-round medians), so one can see which widths the blocked layout speeds up and which it does not.

    python bench/ort_layout.py --out bench/results/ort_layout.json
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
import torch

from archfit.compress.spec import build_model, fill_args
from archfit.cost import count_flops
from archfit.cost.latency import time_calls
from archfit.io import atomic_write_json
from archfit.onnx_io import onnx_bytes, require_onnxruntime

SHAPE = (3, 32, 32)
WIDTHS = (24, 16, 12, 11, 8)  # 16 = default; 11 = x0.71 (what slim_latency.py times); 8 = x0.5; 24 = 8 * 3
LEVELS = ("ALL", "EXTENDED")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/out/ort_layout.json"))
    parser.add_argument("--rounds", type=int, default=5, help="alternating timing rounds")
    parser.add_argument("--repeats", type=int, default=30, help="timed runs per round")
    args = parser.parse_args(argv)
    ort = require_onnxruntime("bench/ort_layout.py")
    torch.set_num_threads(1)
    example = torch.randn(1, *SHAPE)
    feed = {"input": example.numpy()}
    sessions, flops = {}, {}
    for width in WIDTHS:
        model = build_model("resnet20", fill_args("resnet20", {"width": width}, SHAPE, 10)).eval()
        flops[width] = count_flops(model, SHAPE)
        data = onnx_bytes(model, example, "torchscript")
        for level in LEVELS:
            options = ort.SessionOptions()
            options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
            options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, f"ORT_ENABLE_{level}")
            sessions[width, level] = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
    medians: dict[tuple[int, str], list[float]] = {key: [] for key in sessions}
    for _ in range(args.rounds):
        for key, session in sessions.items():
            times = time_calls(lambda: session.run(None, feed), warmup=5, repeats=args.repeats, min_seconds=0.0)
            medians[key].append(float(np.median(times)))
    rows = []
    print(f"{'width':>5s} {'channels':>10s} {'FLOPs':>7s} {'ALL ms':>7s} {'EXTENDED ms':>11s} {'blocked layout gain':>19s}")
    for width in WIDTHS:
        fast, plain = (float(np.median(medians[width, level])) for level in LEVELS)
        rows.append({"width": width, "channels": [width, 2 * width, 4 * width], "flops": flops[width],
                     "all_ms": fast, "extended_ms": plain, "layout_gain": plain / fast})
        print(f"{width:>5d} {f'{width}/{2 * width}/{4 * width}':>10s} {flops[width] / 1e6:>6.1f}M {fast:>7.3f} "
              f"{plain:>11.3f} {plain / fast:>18.2f}x")
    load = os.getloadavg()[0]
    print(f"resnet20 3x32x32, batch 1, 1 thread, {args.rounds} rounds; load average (1 min) {load:.1f}")
    atomic_write_json(args.out, {"rows": rows, "rounds": args.rounds, "repeats": args.repeats,
                                 "load_avg_1min_end": load, "onnxruntime": ort.__version__,
                                 "units": {"all_ms": "ms, median of per-round medians, ORT_ENABLE_ALL",
                                           "extended_ms": "ms, same, ORT_ENABLE_EXTENDED (no NCHWc layout)",
                                           "flops": "2 x MACs, batch 1"}})
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
