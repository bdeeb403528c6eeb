"""How many samples per forward pass make inference fastest on this CPU (``archfit.train.trainer.EVAL_BATCH``)?

Random ``chain`` archs (untrained: speed does not depend on the weights) predict random images at two sizes
in chunks of 512 ... 32 samples, 1 thread, timed by the CPU clock of the timing thread, in interleaved rounds
(every chunk size once per round; median over rounds). Ratios are to chunks of 512, the default before.

    OMP_NUM_THREADS=1 python bench/eval_chunks.py      # about 4 min here; writes bench/results/eval_chunks.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archfit.io import atomic_write_json
from archfit.space import create_space

CHUNKS = (512, 256, 128, 64, 32)


@torch.no_grad()
def predict_in_chunks(model: torch.nn.Module, x: torch.Tensor, chunk: int) -> torch.Tensor:
    return torch.cat([model(x[i:i + chunk]) for i in range(0, len(x), chunk)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[14, 28], help="image side, pixels")
    parser.add_argument("--images", type=int, nargs="+", default=[6000, 2000], help="images per size")
    parser.add_argument("--archs", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "eval_chunks.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    print("| image | arch seed | MFLOPs | s at 512 | " + " | ".join(f"{c} / 512" for c in CHUNKS[1:]) + " |")
    print("|---|---|---|---|" + "---|" * (len(CHUNKS) - 1))
    for size, count in zip(args.sizes, args.images):
        space = create_space("chain", input_shape=[1, size, size], num_classes=10)
        x = torch.randn(count, 1, size, size, generator=torch.Generator().manual_seed(0))
        for seed in range(args.archs):
            arch = space.sample(np.random.default_rng(seed))
            model = space.build(arch).eval()
            times: dict[int, list[float]] = {c: [] for c in CHUNKS}
            for _ in range(args.rounds):
                for chunk in CHUNKS:
                    begin = time.thread_time()
                    predict_in_chunks(model, x, chunk)
                    times[chunk].append(time.thread_time() - begin)
            median = {c: float(np.median(v)) for c, v in times.items()}
            row = {"image": size, "images": count, "arch_seed": seed, "flops": space.exact_cost(arch)[0],
                   "seconds": median, "ratio_to_512": {c: median[c] / median[512] for c in CHUNKS}}
            rows.append(row)
            print(f"| {size}x{size} | {seed} | {row['flops'] / 1e6:.2f} | {median[512]:.2f} | "
                  + " | ".join(f"{row['ratio_to_512'][c]:.2f}" for c in CHUNKS[1:]) + " |", flush=True)
    summary = {c: [float(np.min([r["ratio_to_512"][c] for r in rows if r["image"] == s])) for s in args.sizes]
               for c in CHUNKS}
    atomic_write_json(args.out, {"clock": "cpu (time.thread_time)", "threads": 1, "rounds": args.rounds,
                                 "rows": rows, "best_ratio_per_size": summary})


if __name__ == "__main__":
    main()
