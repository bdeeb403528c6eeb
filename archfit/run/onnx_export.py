"""ONNX export with PyTorch's maintained (torch.export-based) exporter, checked with onnxruntime."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from archfit.errors import ArchfitError


def export_onnx(model: nn.Module, input_shape: tuple[int, ...], path: Path, tolerance: float = 1e-4) -> float:
    """Write ``path`` atomically; return the max |difference| of onnxruntime's logits vs PyTorch's."""
    try:
        import onnxruntime
    except ImportError:
        raise ArchfitError("ONNX export needs the onnx extra: pip install 'archfit[onnx]'") from None
    model = model.eval()
    example = torch.randn(2, *input_shape, generator=torch.Generator().manual_seed(0))
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".onnx", dir=path.parent)
    os.close(fd)
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            torch.onnx.export(model, (example,), tmp, dynamo=True, input_names=["input"], output_names=["logits"],
                              dynamic_shapes=({0: torch.export.Dim("batch", min=1, max=4096)},), verbose=False)
        session = onnxruntime.InferenceSession(tmp, providers=["CPUExecutionProvider"])
        got = session.run(None, {"input": example.numpy()})[0]
        with torch.no_grad():
            want = model(example).numpy()
        diff = float(np.abs(got - want).max())
        if not diff <= tolerance:
            raise ArchfitError(f"ONNX model differs from PyTorch: max |diff| {diff:.3g} > {tolerance}")
        os.replace(tmp, path)
        return diff
    finally:
        Path(tmp).unlink(missing_ok=True)
