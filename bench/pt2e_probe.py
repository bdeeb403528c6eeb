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
                          r"_linear\w*)\.\w+|torch\.ops\.mkl\.\w+\.\w+|torch\.ops\.aten\.(convolution|linear|addmm|mm)\.\w+)\(")
EXTERN = re.compile(r"(torch\.ops\.\w+\.\w+\.\w+|extern_kernels\.\w+)\(")  # every library call, for the record


def kernels(code: str) -> dict[str, int]:
    """Calls of int8 (oneDNN qconv/qlinear) and of float conv/linear kernels in inductor's generated code
    (comment lines, which name the source nodes, are skipped)."""
    code = "\n".join(line for line in code.splitlines() if not line.lstrip().startswith("#"))
    ints = [m.group(1) for m in INT_KERNEL.finditer(code)]
    floats = [m.group(0)[:-1] for m in FLOAT_KERNEL.finditer(code)]
    out = {"int8_calls": len(ints), "float_calls": len(floats),
           "library_calls": len(EXTERN.findall(code))}  # all torch.ops/extern calls
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


def drop_unused(gm):
    """``gm`` without the parameters/buffers its graph no longer reads (convert_pt2e leaves the float weights
    registered beside the int8 ones it folded; they would double the serialised size)."""
    used = {n.target for n in gm.graph.nodes if n.op == "get_attr"}
    for name, _ in list(gm.named_parameters()) + list(gm.named_buffers()):
        if name not in used:
            owner, _, attr = name.rpartition(".")
            delattr(gm.get_submodule(owner) if owner else gm, attr)
    return gm


def sizes(module, example) -> dict[str, int | None]:
    """Bytes of the tensors ``module`` holds (``tensor_bytes``: weights as stored, int8 after convert_pt2e) and
    of its ``torch.export.save`` archive (``archive_bytes``: + graph JSON and sample inputs; None if it fails)."""
    import torch

    out: dict[str, int | None] = {"tensor_bytes": sum(t.numel() * t.element_size()
                                                      for t in module.state_dict().values())}
    try:
        buffer = io.BytesIO()
        torch.export.save(torch.export.export(module, (example,)), buffer)
        out["archive_bytes"] = len(buffer.getvalue())
    except Exception as exc:  # noqa: BLE001 -- a probe: record why
        print(f"  export/save failed: {type(exc).__name__}: {str(exc)[:120]}", flush=True)
        out["archive_bytes"] = None
    return out


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
    return drop_unused(convert_pt2e(prepared))


def probe(model: str, seed: int, data, args) -> dict:
    import torch
    import torch._inductor.config as inductor_config
    from compress import MODELS

    from archfit.compress.spec import build_model, fill_args
    from archfit.cost.latency import time_calls
    from archfit.io import load_tensors
    from archfit.quantize.ptq import QuantConfig, calibration_inputs, quantize_onnx
    from archfit.quantize.runtime import float_onnx, ort_accuracy, session
    from archfit.train.trainer import accuracy

    inductor_config.freezing = True  # the x86 int8 recipe: constant-fold and prepack weights (also for float)
    inductor_config.force_disable_caches = True  # compile seconds of a cold compile, not of a cache hit
    spec, margs = MODELS[model]
    net = build_model(spec, fill_args(spec, margs, data.input_shape, data.num_classes)).eval()
    net.load_state_dict(load_tensors(args.work / f"{model}-s{seed}" / "original.safetensors"))
    calib = calibration_inputs(data.train, args.calibration, seed)
    example = torch.zeros(64, *data.input_shape)
    row: dict = {"weighted_layers": weighted_layers(net), "acc": {}, "compile_s": {}, "kernels": {}, "size": {},
                 "latency_ms": {}}

    row["acc"]["eager"] = accuracy(net, data.test)
    start = time.perf_counter()
    quant = pt2e_int8(net, torch.from_numpy(calib), example)
    row["pt2e_prepare_convert_s"] = time.perf_counter() - start
    row["acc"]["pt2e_reference"] = padded_accuracy(quant, data.test)  # the q/dq graph, uncompiled (float math)
    fns = {"eager": net}
    for name, module in (("compiled", net), ("pt2e_int8", quant)):
        fn, code, seconds = compiled_with_code(module, example)
        if args.dump_code:
            args.dump_code.mkdir(parents=True, exist_ok=True)
            (args.dump_code / f"{model}-s{seed}-{name}-b64.py").write_text(code)
        fns[name] = fn
        row["compile_s"][name] = seconds
        row["kernels"][name] = kernels(code)
        row["acc"][name] = padded_accuracy(fn, data.test)
        # the batch-1 graph, compiled now so that timing rounds never compile
        _, code, row["compile_s"][name + "_b1"] = compiled_with_code(fn, example[:1])
        row["kernels"][name + "_b1"] = kernels(code)
        if args.dump_code:
            (args.dump_code / f"{model}-s{seed}-{name}-b1.py").write_text(code)
    row["size"] = {"eager": sizes(net, example), "pt2e_int8": sizes(quant, example)}

    ort = quantize_onnx(float_onnx(net, data.input_shape), calib, QuantConfig(seed=seed))
    files = {"ort_float": ort.float_bytes, "ort_int8": ort.model_bytes}
    for name, blob in files.items():
        row["acc"][name] = ort_accuracy(blob, data.test)
        row["size"][name] = {"tensor_bytes": None, "archive_bytes": len(blob)}
    row["ort_integer_layers"] = f"{ort.integer_layers}/{len(ort.layers)}"

    sessions = {name: session(blob, 1) for name, blob in files.items()}  # ort_latency_ms's session: 1 thread
    for batch in BATCHES:
        x = torch.from_numpy(np.random.default_rng(0).standard_normal((batch, *data.input_shape)).astype(np.float32))
        feed = {"input": x.numpy()}
        calls = {name: (lambda run=sessions[name], feed=feed: run.run(None, feed))
                 if name in sessions else (lambda fn=fns[name], x=x: fn(x)) for name in RUNTIMES}
        for clock, timer in (("wall", time.perf_counter), ("cpu", time.thread_time)):
            times: dict[str, list[float]] = {name: [] for name in RUNTIMES}
            for _ in range(args.rounds):
                for name in RUNTIMES:
                    with torch.no_grad():
                        samples = time_calls(calls[name], 5, 30, args.min_seconds, timer)
                    times[name].append(float(np.median(samples)))
            row["latency_ms"].setdefault(clock, {})[f"b{batch}"] = {n: float(np.median(v)) for n, v in times.items()}
            row["latency_ms"][clock][f"b{batch}_rounds"] = times
    return row


def kernel_text(r: dict, name: str) -> str:
    k = r["kernels"].get(name)
    if k:
        return f"{k['int8_calls']} int8 + {k['float_calls']} float of {r['weighted_layers']}"
    return f"{r['ort_integer_layers']} integer (ORT graph)" if name == "ort_int8" else ""


def size_text(r: dict, name: str) -> str:
    size = r["size"].get("eager" if name == "compiled" else name, {})
    tensors, archive = size.get("tensor_bytes"), size.get("archive_bytes")
    return f"{tensors / 1e3:.0f}" if tensors else f"{archive / 1e3:.0f} (file)" if archive else "–"


def table(results: dict, clock: str = "cpu") -> str:
    """Per (model, seed) rows of every runtime, then int8 speedups (float ms / int8 ms, same run) per seed and
    their mean ± sd over seeds."""
    lines = [f"Latency: {clock} clock, 1 thread, median of per-round medians.", "",
             ("| model | seed | runtime | test acc % | b1 ms | b64 ms | conv/linear kernels run | compile s (b64) | "
              "weights KB |"), "|---|---|---|---|---|---|---|---|---|"]
    for model, seeds in results["runs"].items():
        for seed, r in sorted(seeds.items()):
            t = r["latency_ms"][clock]
            for name in RUNTIMES:
                lines.append(f"| {model} | {seed} | {name} | {100 * r['acc'][name]:.2f} | {t['b1'][name]:.3f} | "
                             f"{t['b64'][name]:.3f} | {kernel_text(r, name)} | "
                             f"{r['compile_s'].get(name, float('nan')):.1f} | {size_text(r, name)} |")
    pairs = (("pt2e_int8", "compiled"), ("pt2e_int8", "eager"), ("pt2e_int8", "ort_float"), ("pt2e_int8", "ort_int8"),
             ("ort_int8", "ort_float"))
    lines += ["", "Speedup = float ms / int8 ms (same interleaved run); drop = float eager acc - int8 acc (pp).", "",
              "| model | batch | " + " | ".join(f"{a} vs {b}" for a, b in pairs) + " | pt2e drop pp | ort drop pp |"
              " seeds |", "|---" * (len(pairs) + 5) + "|"]
    for model, seeds in results["runs"].items():
        for batch in BATCHES:
            rows = list(seeds.values())
            cells = []
            for a, b in pairs:
                ratio = np.array([r["latency_ms"][clock][f"b{batch}"][b] / r["latency_ms"][clock][f"b{batch}"][a]
                                  for r in rows])
                cells.append(f"{ratio.mean():.2f} ± {ratio.std():.2f}" if len(ratio) > 1 else f"{ratio[0]:.2f}")
            for arm in ("pt2e_int8", "ort_int8"):
                drop = 100 * np.array([r["acc"]["eager"] - r["acc"][arm] for r in rows])
                cells.append(f"{drop.mean():.2f} ± {drop.std():.2f}" if len(drop) > 1 else f"{drop[0]:.2f}")
            lines.append(f"| {model} | {batch} | " + " | ".join(cells) + f" | {len(rows)} |")
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
    parser.add_argument("--dump-code", type=Path, help="write inductor's generated code here")
    parser.add_argument("--clock", default="cpu", choices=("cpu", "wall"), help="clock of the tables")
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
    print(table(results, args.clock))


if __name__ == "__main__":
    main()
