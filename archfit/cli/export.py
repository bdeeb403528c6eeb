"""``archfit export DIR``: rebuild the chosen model from arch.json + weights and check its output."""

from __future__ import annotations

from pathlib import Path


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="rebuild a run's model and verify it")
    p.add_argument("run_dir", type=Path, help="a run folder written by 'archfit search'")
    p.add_argument("--onnx", type=Path, help="also write an ONNX file (onnx extra; checked with onnxruntime)")
    p.set_defaults(run=run)


def run(args) -> int:
    from archfit.cost import count_flops, count_params
    from archfit.run.artifacts import load_model, verify_model

    space, arch, model = load_model(args.run_dir)
    diff = verify_model(args.run_dir, model)
    print(f"rebuilt {space.name} arch {arch.key}: {count_params(model):,} params, "
          f"{count_flops(model, space.input_shape):,} FLOPs; output matches the saved model (max |diff| {diff:.2g})")
    if args.onnx:
        from archfit.run.onnx_export import export_onnx

        onnx_diff = export_onnx(model, space.input_shape, args.onnx)
        print(f"wrote {args.onnx}; onnxruntime matches PyTorch (max |diff| {onnx_diff:.2g})")
    return 0
