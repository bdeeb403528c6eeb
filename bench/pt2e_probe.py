"""Probe: does PyTorch's PT2E int8 flow (torchao ``prepare_pt2e``/``convert_pt2e`` + ``X86InductorQuantizer``,
compiled by inductor with freezing) run int8 convolutions faster than float on this CPU, and faster than
onnxruntime's int8? (issue 15, item 1's "second way"; docs/pt2e.md).

Per (model, seed), on the float weights ``bench/compress.py`` trained (``--work``/<model>-s<seed>/
original.safetensors, the same Fashion-MNIST 16x16 data and 2000-image test cut), six runtimes:

- ``eager``: float eager PyTorch; ``compiled``: float ``torch.compile`` (inductor, freezing) -- the fair float
  baseline of a compiled int8 model; ``pt2e_int8``: ``torch.export`` (strict, batch dynamic) -> prepare_pt2e
  (X86InductorQuantizer default static config: per-channel int8 weights, uint8 activations) -> calibration on
  ``--calibration`` training samples -> convert_pt2e -> ``torch.compile`` (inductor, freezing);
- ``ort_float`` / ``ort_int8``: archfit's own onnxruntime flow (``float_onnx``, ``quantize_onnx``: QOperator,
  per-channel int8 weights, uint8 activations) calibrated on the same samples.

Which layers run as integer kernels is read from the code inductor generates (``run_and_get_code``): calls of
``torch.ops.onednn.qconv*``/``qlinear*`` are int8 kernels, calls of float convolution/linear/matmul kernels are
float layers. Latency: 1 thread, batch 1 and 64, every runtime timed in each of ``--rounds`` alternating rounds
(``archfit.cost.latency.time_calls``; onnxruntime through ``ort_latency_ms``, what ``paired_latency_ms`` uses),
median of the per-round medians.

    OMP_NUM_THREADS=1 python bench/pt2e_probe.py --models resnet20,mobilenetv2 --seeds 0   # resumable
    python bench/pt2e_probe.py --summarize
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

RUNTIMES = ("eager", "compiled", "pt2e_int8", "ort_float", "ort_int8")
BATCHES = (1, 64)
INT_KERNEL = re.compile(r"torch\.ops\.onednn\.(qconv\w*|qlinear\w*)\.\w+\(")
FLOAT_KERNEL = re.compile(r"(extern_kernels\.(convolution|addmm|mm|bmm)|torch\.ops\.mkldnn\.(_convolution\w*|"
                          r"_linear\w*)\.\w+|torch\.ops\.aten\.(convolution|linear|addmm|mm)\.\w+)\(")


def kernels(code: str) -> dict[str, int]:
    """Calls of int8 (oneDNN qconv/qlinear) and of float conv/linear kernels in inductor's generated code."""
    ints = [m.group(1) for m in INT_KERNEL.finditer(code)]
    floats = [m.group(0)[:-1] for m in FLOAT_KERNEL.finditer(code)]
    out = {"int8_calls": len(ints), "float_calls": len(floats)}
    for name in ints + floats:
        out[name] = out.get(name, 0) + 1
    return out


def weighted_layers(net) -> int:
    from torch import nn

    return sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in net.modules())


def compiled_with_code(module, example):
    """``torch.compile`` (inductor, static shapes) of ``module``, first called on ``example``: the compiled
    callable, the generated code and the compile seconds (first call)."""
    import torch
    from torch._inductor.utils import run_and_get_code

    fn = torch.compile(module, dynamic=False)
    start = time.perf_counter()
    with torch.no_grad():
        _, codes = run_and_get_code(fn, example)
    return fn, "\n".join(codes), time.perf_counter() - start


def padded_accuracy(fn, split, batch: int = 64) -> float:
    """Top-1 accuracy of ``fn`` run at a fixed batch (the last batch zero-padded, so no recompile)."""
    import torch

    correct = 0
    with torch.no_grad():
        for i in range(0, len(split), batch):
            x = split.x[i:i + batch]
            n = len(x)
            if n < batch:
                x = torch.cat([x, x.new_zeros(batch - n, *x.shape[1:])])
            correct += int((fn(x)[:n].argmax(1) == split.y[i:i + n]).sum())
    return correct / len(split)


def export_size(module, example) -> int | None:
    """Bytes of ``torch.export.save`` of ``module`` (weights as stored: int8 after convert_pt2e); None if it
    does not serialise."""
    import torch

    try:
        buffer = io.BytesIO()
        torch.export.save(torch.export.export(module, (example,)), buffer)
        return len(buffer.getvalue())
    except Exception as exc:  # noqa: BLE001 -- a probe: record why
        print(f"  export/save failed: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
        return None


def pt2e_int8(net, calibration, example):
    """torch.export -> prepare_pt2e(X86InductorQuantizer) -> calibrate -> convert_pt2e (a GraphModule)."""
    import torch
    from torchao.quantization.pt2e.quantize_pt2e import convert_pt2e, prepare_pt2e
    from torchao.quantization.pt2e.quantizer import x86_inductor_quantizer as xiq

    # strict (dynamo) export: non-strict export names a module's source partition by its FQN, so ResNet's one
    # ReLU module called twice per block makes a two-output partition that X86InductorQuantizer rejects
    batch = torch.export.Dim("batch", min=1, max=4096)
    exported = torch.export.export(net, (example,), dynamic_shapes=({0: batch},), strict=True).module()
    quantizer = xiq.X86InductorQuantizer().set_global(xiq.get_default_x86_inductor_quantization_config())
    prepared = prepare_pt2e(exported, quantizer)
    with torch.no_grad():
        for i in range(0, len(calibration), 64):
            prepared(calibration[i:i + 64])
    return convert_pt2e(prepared)


def probe(model: str, seed: int, data, args) -> dict:
    import torch
    import torch._inductor.config as inductor_config
    from compress import MODELS

    from archfit.compress.spec import build_model, fill_args
    from archfit.cost.latency import time_calls
    from archfit.io import load_tensors
    from archfit.quantize.ptq import QuantConfig, calibration_inputs, quantize_onnx
    from archfit.quantize.runtime import float_onnx, ort_accuracy, ort_latency_ms
    from archfit.train.trainer import accuracy

    inductor_config.freezing = True  # the x86 int8 recipe: constant-fold and prepack weights (also for float)
    spec, margs = MODELS[model]
    net = build_model(spec, fill_args(spec, margs, data.input_shape, data.num_classes)).eval()
    net.load_state_dict(load_tensors(args.work / f"{model}-s{seed}" / "original.safetensors"))
    calib = calibration_inputs(data.train, args.calibration, seed)
    example = torch.zeros(64, *data.input_shape)
    row: dict = {"weighted_layers": weighted_layers(net), "acc": {}, "compile_s": {}, "kernels": {}, "size": {}}

    row["acc"]["eager"] = accuracy(net, data.test)
    start = time.perf_counter()
    quant = pt2e_int8(net, torch.from_numpy(calib), example)
    row["pt2e_prepare_convert_s"] = time.perf_counter() - start
    row["acc"]["pt2e_reference"] = padded_accuracy(quant, data.test)  # the q/dq graph, uncompiled (float math)
    fns = {"eager": net}
    for name, module in (("compiled", net), ("pt2e_int8", quant)):
        fn, code, seconds = compiled_with_code(module, example)
        fns[name] = fn
        row["compile_s"][name] = seconds
        row["kernels"][name] = kernels(code)
        row["acc"][name] = padded_accuracy(fn, data.test)
        with torch.no_grad():
            start = time.perf_counter()
            fn(example[:1])  # the batch-1 graph, compiled now so that timing rounds never compile
            row["compile_s"][name + "_b1"] = time.perf_counter() - start
    row["size"] = {"eager": export_size(net, example), "pt2e_int8": export_size(quant, example)}

    ort = quantize_onnx(float_onnx(net, data.input_shape), calib, QuantConfig(seed=seed))
    files = {"ort_float": ort.float_bytes, "ort_int8": ort.model_bytes}
    for name, blob in files.items():
        row["acc"][name] = ort_accuracy(blob, data.test)
        row["size"][name] = len(blob)
    row["ort_integer_layers"] = f"{ort.integer_layers}/{len(ort.layers)}"

    row["latency_ms"] = {}
    for batch in BATCHES:
        x = torch.from_numpy(np.random.default_rng(0).standard_normal((batch, *data.input_shape)).astype(np.float32))
        times: dict[str, list[float]] = {name: [] for name in RUNTIMES}
        for _ in range(args.rounds):
            for name in RUNTIMES:
                if name in files:
                    times[name].append(ort_latency_ms(files[name], data.input_shape, batch, 1,
                                                      min_seconds=args.min_seconds))
                    continue
                with torch.no_grad():
                    samples = time_calls(lambda fn=fns[name], x=x: fn(x), 5, 30, args.min_seconds)
                times[name].append(float(np.median(samples)))
        row["latency_ms"][f"b{batch}"] = {name: float(np.median(v)) for name, v in times.items()}
        row["latency_ms"][f"b{batch}_rounds"] = times
    return row


def table(results: dict) -> str:
    lines = ["| model | seed | runtime | test acc % | b1 ms | b64 ms | int8 / float kernels | compile s | size KB |",
             "|---|---|---|---|---|---|---|---|---|"]
    for model, seeds in results["runs"].items():
        for seed, r in sorted(seeds.items()):
            for name in RUNTIMES:
                k = r["kernels"].get(name)
                kern = f"{k['int8_calls']} / {k['float_calls']} of {r['weighted_layers']}" if k else (
                    r["ort_integer_layers"] + " integer" if name == "ort_int8" else "")
                size = r["size"].get(name if name != "compiled" else "eager")
                lines.append(f"| {model} | {seed} | {name} | {100 * r['acc'][name]:.2f} | "
                             f"{r['latency_ms']['b1'][name]:.3f} | {r['latency_ms']['b64'][name]:.3f} | {kern} | "
                             f"{r['compile_s'].get(name, float('nan')):.1f} | "
                             f"{size / 1e3 if size else float('nan'):.1f} |")
    lines += ["", "Speedup of int8 = float ms / int8 ms (same interleaved run); acc drop in pp vs the float eager model.",
              "", ("| model | seed | batch | pt2e_int8 vs compiled | vs eager | vs ort_float | vs ort_int8 | "
              "ort_int8 vs ort_float | pt2e drop pp | ort drop pp |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for model, seeds in results["runs"].items():
        for seed, r in sorted(seeds.items()):
            for batch in BATCHES:
                t = r["latency_ms"][f"b{batch}"]
                q = t["pt2e_int8"]
                lines.append(f"| {model} | {seed} | {batch} | {t['compiled'] / q:.2f} | {t['eager'] / q:.2f} | "
                             f"{t['ort_float'] / q:.2f} | {t['ort_int8'] / q:.2f} | "
                             f"{t['ort_float'] / t['ort_int8']:.2f} | "
                             f"{100 * (r['acc']['eager'] - r['acc']['pt2e_int8']):.2f} | "
                             f"{100 * (r['acc']['eager'] - r['acc']['ort_int8']):.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("bench/results/pt2e_probe.json"))
    parser.add_argument("--work", type=Path, default=Path("/work/scratch/compress_work"),
                        help="bench/compress.py's --work: <model>-s<seed>/original.safetensors")
    parser.add_argument("--models", default="resnet20,mobilenetv2")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds")
    parser.add_argument("--calibration", type=int, default=512, help="training samples to calibrate on")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--min-seconds", type=float, default=0.2, help="timed seconds per runtime per round")
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--train-subset", type=int, default=3000)
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args()
    results = json.loads(args.out.read_text()) if args.out.exists() else {}
    results.setdefault("runs", {})
    if not args.summarize:
        import onnxruntime
        import torch
        import torchao
        from compress import load

        from archfit.io import atomic_write_json

        warnings.filterwarnings("ignore")
        torch.set_num_threads(1)
        results["versions"] = {"torch": torch.__version__, "torchao": torchao.__version__,
                               "onnxruntime": onnxruntime.__version__}
        results["settings"] = {k: str(v) for k, v in vars(args).items() if k != "summarize"}
        data = load(args)
        for seed in args.seeds.split(","):
            for model in args.models.split(","):
                entry = results["runs"].setdefault(model, {})
                if seed not in entry:
                    print(f"{model} seed {seed} ...", flush=True)
                    start = time.perf_counter()
                    entry[seed] = probe(model, int(seed), data, args)
                    entry[seed]["seconds"] = time.perf_counter() - start
                    atomic_write_json(args.out, results)
    print(table(results))


if __name__ == "__main__":
    main()
