"""Which activation calibration loses least in onnxruntime int8: MinMax (the default), entropy or percentile?

For every trained float model of ``bench/compress.py`` (its ``--work`` folder: ``<model>-s<seed>/original.safetensors``),
the same 512 training samples calibrate each method; the int8 file's test accuracy in onnxruntime is compared with
the float file's on the same 2,000-image test cut (``bench/compress.py``'s data). Nothing is trained.

    OMP_NUM_THREADS=1 python bench/int8_calibration.py --work /work/scratch/compress_work   # writes bench/results/int8_calibration.json
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from compress import MODELS, load  # bench/compress.py: same models and data

from archfit.compress.spec import build_model, fill_args
from archfit.io import atomic_write_json, load_tensors
from archfit.quantize.ptq import CALIBRATION, QuantConfig, quantize_model
from archfit.quantize.runtime import ort_accuracy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, required=True, help="bench/compress.py's --work folder")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--train-subset", type=int, default=1000)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "int8_calibration.json")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(1)
    data = load(args)
    rows = []
    print("| model | seed | float % | " + " | ".join(f"{c} drop pp" for c in CALIBRATION) + " |")
    print("|---|---|---|" + "---|" * len(CALIBRATION))
    for model in args.models.split(","):
        spec, margs = MODELS[model]
        for seed in range(args.seeds):
            weights = args.work / f"{model}-s{seed}" / "original.safetensors"
            if not weights.is_file():
                continue
            net = build_model(spec, fill_args(spec, margs, data.input_shape, data.num_classes))
            net.load_state_dict(load_tensors(weights))
            net.eval()
            row = {"model": model, "seed": seed, "drop_pp": {}}
            for method in CALIBRATION:
                quantized = quantize_model(net, data.train, data.input_shape, QuantConfig(calibration=method))
                row.setdefault("float_acc", ort_accuracy(quantized.float_bytes, data.test))
                row["drop_pp"][method] = 100 * (row["float_acc"] - ort_accuracy(quantized.model_bytes, data.test))
            rows.append(row)
            print(f"| {model} | {seed} | {100 * row['float_acc']:.2f} | "
                  + " | ".join(f"{row['drop_pp'][c]:+.2f}" for c in CALIBRATION) + " |", flush=True)
    summary = {model: {c: {"mean_drop_pp": float(np.mean([r["drop_pp"][c] for r in rows if r["model"] == model])),
                           "max_drop_pp": float(np.max([r["drop_pp"][c] for r in rows if r["model"] == model]))}
                       for c in CALIBRATION} for model in {r["model"] for r in rows}}
    print()
    for model, by in summary.items():
        print(model, {c: f"mean {v['mean_drop_pp']:.2f}, max {v['max_drop_pp']:.2f}" for c, v in by.items()})
    atomic_write_json(args.out, {"samples": 512, "rows": rows, "summary": summary})


if __name__ == "__main__":
    main()
