"""``archfit compress``: slim, distil, mixed-precision search, int8-quantize (onnxruntime, optionally after
quantization-aware training) and export a model under a size / FLOPs / params / latency budget, every step
measured and resumable."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from archfit.errors import ArchfitError


def add_parser(sub) -> None:
    from archfit.quantize.pipeline import CompressConfig
    from archfit.quantize.ptq import CALIBRATION, FORMATS, QuantConfig
    from archfit.quantize.steps import STEPS

    d, q = CompressConfig(), QuantConfig()
    p = sub.add_parser("compress", help="slim + distil + int8 quantize + export a model under a budget",
                       description=__doc__)
    p.add_argument("--model", required=True, help="built-in name (resnet20, mobilenetv2, cnn1d, ...), "
                                                  "package.module:Class or file.py:Class")
    p.add_argument("--model-args", default="{}", metavar="JSON", help="constructor arguments (JSON object)")
    p.add_argument("--weights", help="trained weights (safetensors or torch state dict, loaded weights-only); "
                                     "without it the model is trained first for --pretrain-epochs")
    p.add_argument("--data", default=d.data_name, help="digits | mnist1d | fashion-mnist | a data folder")
    p.add_argument("--steps", default=",".join(STEPS), help=f"comma-separated, in this order: {','.join(STEPS)}")
    p.add_argument("--max-size", help="deployed size budget: bytes like 50KB, 1.5MB, 64KiB, or 25%% of the float model")
    p.add_argument("--max-flops", help="FLOPs budget (2 x MACs, batch 1): 20M or 50%%")
    p.add_argument("--max-params", help="parameter budget: 50k or 25%%")
    p.add_argument("--max-latency-ms", help="median batch-1 onnxruntime latency budget in ms")
    p.add_argument("--slim-method", default=d.slim_method, help="archfit slim method: width | l1 | bn | taylor | ...")
    p.add_argument("--format", default=q.format, choices=FORMATS, help="int8 ONNX format (default qoperator)")
    p.add_argument("--calibration", default=q.calibration, choices=CALIBRATION)
    p.add_argument("--calibration-samples", type=int, default=q.calibration_samples)
    p.add_argument("--per-tensor", action="store_true", help="one weight scale per tensor instead of per channel")
    p.add_argument("--keep-float", action="append", default=[], metavar="LAYER", help="leave this layer in float")
    p.add_argument("--unsupported", default=q.unsupported, choices=("float", "refuse"),
                   help="a layer onnxruntime would not run in int8: keep it float (reported) or refuse")
    for name in ("pretrain_epochs", "supernet_epochs", "evaluations", "finetune_epochs", "distill_epochs"):
        p.add_argument("--" + name.replace("_", "-"), type=int, default=getattr(d, name))
    p.add_argument("--qat-epochs", type=int, default=d.qat_epochs,
                   help="quantization-aware training epochs before int8 export (0: post-training only)")
    p.add_argument("--qat-lr", type=float, default=d.qat_lr, help="peak learning rate of QAT")
    p.add_argument("--mixed-bits", default=",".join(map(str, d.mixed_bits)),
                   help="mixed step: per-layer weight bit-widths to choose from (32 = float; 8,4,2 = packed sizes)")
    p.add_argument("--mixed-strategy", default=d.mixed_strategy, help="mixed step: search strategy (random, evolution, ...)")
    p.add_argument("--mixed-evaluations", type=int, default=d.mixed_evaluations)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--resume", action="store_true", help="continue --out: finished steps are loaded, not rerun")
    p.add_argument("--out", type=Path, help="output folder (default runs/compress-<timestamp>)")
    p.set_defaults(run=run)


def run(args) -> int:
    from archfit.compress.spec import parse_model_args, resolve_class
    from archfit.quantize.pipeline import CompressConfig, compress
    from archfit.quantize.ptq import QuantConfig
    from archfit.report.compress_report import summary

    resolve_class(args.model)  # fail fast, before loading data
    if args.weights and not Path(args.weights).is_file():
        raise ArchfitError(f"--weights {args.weights} does not exist")
    quant = QuantConfig(format=args.format, per_channel=not args.per_tensor, calibration=args.calibration,
                        calibration_samples=args.calibration_samples, keep_float=tuple(args.keep_float),
                        unsupported=args.unsupported, seed=args.seed)
    config = CompressConfig(model_args=parse_model_args(args.model_args), weights=args.weights,
                            slim_method=args.slim_method, pretrain_epochs=args.pretrain_epochs,
                            supernet_epochs=args.supernet_epochs, evaluations=args.evaluations,
                            finetune_epochs=args.finetune_epochs, distill_epochs=args.distill_epochs, lr=args.lr,
                            batch_size=args.batch_size, quant=quant, qat_epochs=args.qat_epochs,
                            qat_lr=args.qat_lr, mixed_bits=_bits(args.mixed_bits),
                            mixed_strategy=args.mixed_strategy, mixed_evaluations=args.mixed_evaluations,
                            seed=args.seed)
    budget = {"size_bytes": args.max_size, "flops": args.max_flops, "params": args.max_params,
              "latency_ms": args.max_latency_ms}
    out = args.out or Path("runs") / time.strftime("compress-%Y%m%d-%H%M%S")
    existed = out.exists()
    try:
        result = compress(args.model, args.data, args.steps, budget, out, config, resume=args.resume)
    except ArchfitError:
        if not existed and not args.resume and out.exists() and not (out / "steps" / "00-original").exists():
            shutil.rmtree(out, ignore_errors=True)  # nothing half-written: no step finished
        raise
    from archfit.io import read_json

    print(summary(read_json(out / "results.json", "compress results")))
    print(f"budget {'met' if result.fits else 'NOT met: ' + '; '.join(result.violations)}; "
          f"files, results.json and report.html in {out}")
    return 0 if result.fits else 1


def _bits(text: str) -> tuple[int, ...]:
    try:
        bits = tuple(int(b) for b in text.split(",") if b.strip())
    except ValueError:
        bits = ()
    if not bits:
        raise ArchfitError(f"--mixed-bits {text!r} is not a comma-separated list of bit-widths like 32,8 or 8,4,2")
    return bits
