"""``archfit export DIR``: rebuild a chosen model from its saved description + weights and check its output.

``DIR`` is either a search run (``arch.json``: rebuilt from the space) or one method folder of an
``archfit slim`` run (``slim.json``: the original model rebuilt from its definition and shrunk to the
saved widths). Either way the logits on the saved check input must match; ``--onnx`` also writes and
verifies an ONNX file.
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from archfit.errors import ArchfitError


def add_parser(sub) -> None:
    p = sub.add_parser("export", help="rebuild a run's model and verify it")
    p.add_argument("run_dir", type=Path,
                   help="a run folder written by 'archfit search', or a method folder of 'archfit slim' (DIR/width)")
    p.add_argument("--onnx", type=Path, help="also write an ONNX file (onnx extra; checked with onnxruntime)")
    p.set_defaults(run=run)


def _search_model(run_dir: Path) -> tuple[nn.Module, tuple[int, ...], str, float]:
    from archfit.run.artifacts import load_model, verify_model

    space, arch, model = load_model(run_dir)
    return model, space.input_shape, f"{space.name} arch {arch.key}", verify_model(run_dir, model)


def _slim_model(run_dir: Path) -> tuple[nn.Module, tuple[int, ...], str, float]:
    from archfit.compress.extract import load_slimmed

    model, record = load_slimmed(run_dir)
    return model, tuple(record["input_shape"]), f"slimmed {record['model']}", record["check_diff"]


def run(args) -> int:
    from archfit.compress.extract import SLIM_FILE
    from archfit.cost import count_flops, count_params

    if not args.run_dir.is_dir():
        raise ArchfitError(f"{args.run_dir} is not a folder: expected a run folder of 'archfit search' (arch.json) "
                           "or a method folder of 'archfit slim' (slim.json)")
    slim = (args.run_dir / SLIM_FILE).is_file()
    model, input_shape, what, diff = (_slim_model if slim else _search_model)(args.run_dir)
    print(f"rebuilt {what}: {count_params(model):,} params, {count_flops(model, input_shape):,} FLOPs; "
          f"output matches the saved model (max |diff| {diff:.2g})")
    if args.onnx:
        from archfit.onnx_io import export_onnx

        onnx_diff = export_onnx(model, input_shape, args.onnx)
        print(f"wrote {args.onnx}; onnxruntime matches PyTorch (max |diff| {onnx_diff:.2g})")
    return 0
