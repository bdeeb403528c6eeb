"""Benchmark of ``archfit compress``: onnxruntime int8 PTQ vs float, the pipeline (slim -> distil -> int8) vs
int8 alone (post-training, and after QAT) vs Torch-Pruning L1 + int8 at 25% of the float model's size, and low-bit passes vs STE.

Data: Fashion-MNIST at 16x16 with a class-balanced training subset (``--train-subset``, default 3000), the
validation split cut to 1000 and the test split to 2000 seeded samples (CPU budget: every step evaluates
on them). Per (model, seed) the float model is trained once and shared by every arm; each arm is cached
in the JSON as soon as it finishes (rerun to resume). Latency: onnxruntime CPU session, 1 thread; the
float/int8 speedups are re-timed in alternating rounds (``paired``) since the CPU is shared.

    nice python bench/compress.py --out bench/results/compress.json             # resumable
    python bench/compress.py --out bench/results/compress.json --summarize      # table of a partial run
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

MODELS = {"resnet20": ("resnet20", {"width": 16}), "mobilenetv2": ("mobilenetv2", {})}
ARMS = ("float", "int8_ptq", "int8_qat", "pipeline", "tp_l1_int8")
LOWBIT = (("ste", 2), ("sdw", 2), ("ste", 1), ("sdw", 1), ("lbm", 1))
FIELDS = ("test_acc", "size_bytes", "latency_ms_b1", "latency_ms_b64", "runtime")


def load(args):
    import torch

    from archfit.data import load_data
    from archfit.data.base import DataModule, Split

    data = load_data("fashion-mnist", image_size=args.image_size, train_subset=args.train_subset)
    g = torch.Generator().manual_seed(0)

    def cut(split: Split, n: int) -> Split:
        index = torch.randperm(len(split), generator=g)[:n].sort().values
        return Split(split.x[index], split.y[index])

    return DataModule(data.name, data.train, cut(data.valid, 1000), cut(data.test, 2000), data.num_classes)


def original(model: str, seed: int, data, args, work: Path) -> Path:
    """Train the float model once per (model, seed); its weights file is shared by every arm."""
    import torch

    from archfit.compress.spec import build_model, fill_args
    from archfit.io import save_tensors
    from archfit.train.trainer import TrainConfig, train

    path = work / f"{model}-s{seed}" / "original.safetensors"
    if not path.exists():
        spec, margs = MODELS[model]
        torch.manual_seed(seed)
        net = build_model(spec, fill_args(spec, margs, data.input_shape, data.num_classes))
        train(net, data.train, TrainConfig(epochs=args.pretrain_epochs, seed=seed))
        save_tensors(path, net.state_dict())
    return path


def run_arm(model: str, seed: int, arm: str, data, args, work: Path) -> dict:
    from archfit.quantize import CompressConfig, compress

    spec, margs = MODELS[model]
    weights = original(model, seed, data, args, work)
    steps = {"float": ("export",), "int8_ptq": ("quantize", "export"), "int8_qat": ("quantize", "export"),
             "pipeline": ("slim", "distill", "quantize", "export"),
             "tp_l1_int8": ("slim", "distill", "quantize", "export")}[arm]
    budget = {"size_bytes": "100%"} if arm in ("float", "int8_ptq", "int8_qat") else {"size_bytes": args.budget}
    config = CompressConfig(model_args=margs, weights=str(weights), slim_method="l1" if arm == "tp_l1_int8" else "width",
                            supernet_epochs=args.supernet_epochs, evaluations=args.evaluations,
                            finetune_epochs=args.finetune_epochs, distill_epochs=args.distill_epochs,
                            qat_epochs=args.qat_epochs if arm == "int8_qat" else 0, seed=seed)
    start = time.perf_counter()
    result = compress(spec, data, steps, budget, work / f"{model}-s{seed}" / arm, config, resume=True,
                      log=lambda *a: None)
    final = result.steps[-1]["metrics"]
    row = {k: final[k] for k in FIELDS}
    row.update(params=final["params"], flops=final["flops"], fits=result.fits, seconds=time.perf_counter() - start,
               budget_bytes=result.budget.get("size_bytes"), steps=list(steps))
    quant = next((s for s in result.steps if s["step"] == "quantize"), None)
    if quant:
        row["integer_layers"] = f"{quant['extra']['integer_layers']}/{quant['extra']['weighted_layers']}"
        if quant["extra"].get("qat"):
            row["fake_quant_test_acc"] = quant["extra"]["qat"]["fake_quant_test_acc"]
    return row


def paired(model: str, seed: int, work: Path, shape) -> dict:
    """Float vs int8 latency of the same model, timed in alternating rounds (5 rounds, 1 thread)."""
    from archfit.quantize.runtime import paired_latency_ms

    folder = work / f"{model}-s{seed}" / "int8_ptq"
    files = {"float": (folder / "model.onnx").read_bytes(), "int8": (folder / "model.int8.onnx").read_bytes()}
    b1 = paired_latency_ms(files, shape, 1, rounds=5, min_seconds=0.2)
    b64 = paired_latency_ms(files, shape, 64, rounds=5, min_seconds=0.2)
    return {"float_b1": b1["float"], "int8_b1": b1["int8"], "float_b64": b64["float"], "int8_b64": b64["int8"]}


def run_lowbit(model: str, seed: int, method: str, bits: int, data, args, work: Path) -> dict:
    import torch

    from archfit.compress.spec import build_model, fill_args
    from archfit.io import load_tensors
    from archfit.quantize.lowbit import LowBitConfig, distinct_levels, lowbit_pass
    from archfit.train.trainer import accuracy

    spec, margs = MODELS[model]
    net = build_model(spec, fill_args(spec, margs, data.input_shape, data.num_classes))
    net.load_state_dict(load_tensors(original(model, seed, data, args, work)))
    start = time.perf_counter()
    torch.manual_seed(seed)
    q = lowbit_pass(net.eval(), data, method, LowBitConfig(bits=bits, epochs=args.lowbit_epochs, seed=seed))
    return {"test_acc": accuracy(q, data.test), "bits": bits, "max_levels": max(distinct_levels(q).values()),
            "epochs": args.lowbit_epochs, "seconds": time.perf_counter() - start}


def save(path: Path, results: dict) -> None:
    from archfit.io import atomic_write_json

    atomic_write_json(path, results)


def table(results: dict) -> str:
    lines = ["| model | arm | test acc % (mean ± sd) | size KB | size ÷ float | b1 ms | b64 ms | fits | seeds |",
             "|---|---|---|---|---|---|---|---|---|"]
    for model in MODELS:
        runs = results["runs"].get(model, {})
        float_size = np.mean([r["float"]["size_bytes"] for r in runs.values() if "float" in r] or [np.nan])
        for arm in ARMS:
            rows = [r[arm] for r in runs.values() if arm in r]
            if not rows:
                continue
            acc = 100 * np.array([r["test_acc"] for r in rows])
            size = np.mean([r["size_bytes"] for r in rows])
            fits = "–" if arm == "float" else f"{sum(bool(r.get('fits', True)) for r in rows)}/{len(rows)}"
            lines.append(f"| {model} | {arm} | {acc.mean():.2f} ± {acc.std():.2f} | {size / 1e3:.1f} | "
                         f"{float_size / size:.2f} | {np.mean([r['latency_ms_b1'] for r in rows]):.3f} | "
                         f"{np.mean([r['latency_ms_b64'] for r in rows]):.3f} | "
                         f"{fits} | {len(rows)} |")
    lines += ["", "| model | seed | float b1 ms | int8 b1 ms | speedup b1 | float b64 ms | int8 b64 ms | speedup b64 |",
              "|---|---|---|---|---|---|---|---|"]
    for model in MODELS:
        for seed, r in sorted(results["runs"].get(model, {}).items()):
            p = r.get("paired")
            if p:
                lines.append(f"| {model} | {seed} | {p['float_b1']:.3f} | {p['int8_b1']:.3f} | "
                             f"{p['float_b1'] / p['int8_b1']:.2f} | {p['float_b64']:.3f} | {p['int8_b64']:.3f} | "
                             f"{p['float_b64'] / p['int8_b64']:.2f} |")
    lines += ["", "| model | method | bits | test acc % (mean ± sd) | seeds |", "|---|---|---|---|---|"]
    for model in MODELS:
        for method, bits in LOWBIT:
            key = f"{method}{bits}"
            accs = [100 * r["lowbit"][key]["test_acc"] for r in results["runs"].get(model, {}).values()
                    if key in r.get("lowbit", {})]
            if accs:
                lines.append(f"| {model} | {method} | {bits} | {np.mean(accs):.2f} ± {np.std(accs):.2f} | {len(accs)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results/compress.json"))
    parser.add_argument("--work", type=Path, default=Path("runs/bench-compress"), help="compress output folders")
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", default="25%", help="size budget of the pipeline arms (of the float model)")
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--train-subset", type=int, default=3000)
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--supernet-epochs", type=int, default=3)
    parser.add_argument("--evaluations", type=int, default=16)
    parser.add_argument("--finetune-epochs", type=int, default=3)
    parser.add_argument("--distill-epochs", type=int, default=2)
    parser.add_argument("--lowbit-epochs", type=int, default=3)
    parser.add_argument("--qat-epochs", type=int, default=2, help="epochs of the int8_qat arm")
    parser.add_argument("--lowbit-models", default="resnet20", help="models the low-bit passes run on")
    parser.add_argument("--arms", default=",".join(ARMS), help="which arms to run (cheap ones first for more seeds)")
    parser.add_argument("--parts", default="arms,lowbit", help="arms (float/int8/pipeline/L1) and/or lowbit")
    parser.add_argument("--merge", type=Path, help="also read runs from this JSON (a --parts lowbit run's --out)")
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.setdefault("runs", {})
    results["settings"] = {k: str(v) for k, v in vars(args).items() if k not in ("summarize",)}
    if not args.summarize:
        import torch

        torch.set_num_threads(1)
        data = load(args)
        models = args.models.split(",")
        for seed in range(args.seeds):
            for model in models if "arms" in args.parts else ():
                entry = results["runs"].setdefault(model, {}).setdefault(str(seed), {})
                for arm in args.arms.split(","):
                    if arm not in entry:
                        print(f"{model} seed {seed} {arm} ...", flush=True)
                        entry[arm] = run_arm(model, seed, arm, data, args, args.work)
                        save(args.out, results)
                if "paired" not in entry and "int8_ptq" in entry:
                    entry["paired"] = paired(model, seed, args.work, data.input_shape)
                    save(args.out, results)
            for model in args.lowbit_models.split(",") if "lowbit" in args.parts else ():
                entry = results["runs"].setdefault(model, {}).setdefault(str(seed), {}).setdefault("lowbit", {})
                for method, bits in LOWBIT:
                    if f"{method}{bits}" not in entry:
                        print(f"{model} seed {seed} lowbit {method}{bits} ...", flush=True)
                        entry[f"{method}{bits}"] = run_lowbit(model, seed, method, bits, data, args, args.work)
                        save(args.out, results)
    if args.merge and args.merge.exists():
        for model, seeds in json.loads(args.merge.read_text())["runs"].items():
            for seed, entry in seeds.items():
                if "lowbit" in entry:
                    results["runs"].setdefault(model, {}).setdefault(seed, {})["lowbit"] = entry["lowbit"]
        save(args.out, results)
    print(table(results))


if __name__ == "__main__":
    main()
