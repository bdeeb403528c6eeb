"""Deployment size in bytes: what a model occupies as the file you ship.

- float: the serialized ONNX graph (BatchNorm folded into the convolutions, see ``archfit.quantize.runtime``),
  or, without onnx, the bytes of the state dict's tensors (parameters and buffers at their dtypes);
- int8: the length of the quantized ONNX file (``len(model_bytes)``).

``size_bytes(model, input_shape)`` is the cost function the open budget registers as ``size_bytes``; the
unit is bytes (decimal prefixes in ``parse_bytes``: 1 KB = 1000 B; KiB/MiB are binary).
"""

from __future__ import annotations

import re

from torch import nn

from archfit.errors import ArchfitError

_UNITS = {"": 1, "b": 1, "kb": 1e3, "mb": 1e6, "gb": 1e9, "kib": 1024, "mib": 1024 ** 2, "gib": 1024 ** 3,
          "k": 1e3, "m": 1e6, "g": 1e9}
_PATTERN = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)\s*([a-zA-Z]*)\s*$")


def parse_bytes(text: str | float, what: str = "--max-size") -> float:
    """``'200KB'`` -> 200000.0, ``'1.5MB'`` -> 1.5e6, ``'64KiB'`` -> 65536.0, ``'5000'`` -> 5000.0 (bytes, > 0)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        value = float(text)
    else:
        match = _PATTERN.match(str(text))
        unit = match.group(2).lower() if match else None
        if not match or unit not in _UNITS:
            raise ArchfitError(f"{what} {text!r} is not a size in bytes (e.g. 50KB, 1.5MB, 64KiB, 20000)")
        value = float(match.group(1)) * _UNITS[unit]
    if not 0 < value < float("inf"):
        raise ArchfitError(f"{what} {text!r} must be a positive finite number of bytes")
    return value


def format_bytes(value: float) -> str:
    """1234567 -> ``'1.23 MB'`` (decimal prefixes)."""
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("KB", 1e3)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value:.0f} B"


def state_dict_bytes(model: nn.Module) -> int:
    """Bytes of every tensor in the state dict at its dtype (shared tensors counted once)."""
    seen, total = set(), 0
    for tensor in model.state_dict().values():
        key = (tensor.data_ptr(), tensor.numel())
        if key not in seen:
            seen.add(key)
            total += tensor.numel() * tensor.element_size()
    return total


def onnx_bytes_size(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """Bytes of the float ONNX file of ``model`` (eval mode, BatchNorm folded, batch symbolic)."""
    from archfit.quantize.runtime import float_onnx

    return len(float_onnx(model, input_shape))


def size_bytes(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """Deployed float size in bytes: the float ONNX file when onnx is installed, else the state dict's bytes."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        return float(state_dict_bytes(model))
    return float(onnx_bytes_size(model, input_shape))
