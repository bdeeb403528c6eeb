"""Post-training static int8 quantization with onnxruntime (``quantize_static``), verified on the executed graph.

Flow: float ONNX (BatchNorm folded) -> ``quant_pre_process`` (shape inference, constant cleanup) -> calibration
of activation ranges on training samples through a ``CalibrationDataReader`` -> int8 weights (per output
channel, symmetric) and uint8 activations -> ``inspect.layer_report`` on the graph onnxruntime runs.

Defaults are the combination that runs every Conv/Gemm of the reference models as ``QLinearConv``/``QGemm`` on
x86-64 here: the QOperator format and U8S8 (uint8 activations, int8 weights). With int8 activations
(S8S8) in the QDQ format, onnxruntime 1.32 left 8 of MobileNetV2's 23 convolutions dequantized, in float.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from archfit.data.base import Split
from archfit.errors import ArchfitError
from archfit.onnx_io import require_onnxruntime
from archfit.quantize.compact import compact
from archfit.quantize.inspect import LayerQuant, layer_report, module_name, op_counts, weighted_nodes
from archfit.quantize.runtime import float_onnx

FORMATS = ("qoperator", "qdq")
CALIBRATION = ("minmax", "entropy", "percentile")
UNSUPPORTED = ("float", "refuse")


@dataclass(frozen=True)
class QuantConfig:
    format: str = "qoperator"  # "qoperator" (QLinearConv nodes in the file) | "qdq" (Q/DQ pairs ORT fuses)
    per_channel: bool = True  # one weight scale per output channel
    calibration: str = "minmax"  # how activation ranges are set from the calibration samples
    calibration_samples: int = 512  # training samples run through the float model to calibrate
    keep_float: tuple[str, ...] = ()  # layer names (PyTorch module names) left in float on purpose
    unsupported: str = "float"  # a layer that does not end up integer: keep it float (reported) | refuse
    seed: int = 0

    def __post_init__(self) -> None:
        for value, allowed, what in ((self.format, FORMATS, "quantization format"),
                                     (self.calibration, CALIBRATION, "calibration method"),
                                     (self.unsupported, UNSUPPORTED, "--unsupported")):
            if value not in allowed:
                raise ArchfitError(f"{what} {value!r} is not one of {list(allowed)}")
        if self.calibration_samples < 1:
            raise ArchfitError(f"calibration samples {self.calibration_samples} must be >= 1")


@dataclass
class Quantized:
    """The int8 ONNX file's bytes and, per weighted layer, what onnxruntime runs for it."""

    model_bytes: bytes
    float_bytes: bytes  # the pre-processed float graph that was quantized (also the float deployment)
    layers: list[LayerQuant] = field(default_factory=list)

    @property
    def integer_layers(self) -> int:
        return sum(r.integer for r in self.layers)


def preprocess(float_bytes: bytes) -> bytes:
    """onnxruntime's recommended pre-processing (symbolic shape inference, ORT basic optimisations that remove
    the exporter's Identity nodes and fold constants); the input is returned unchanged if it fails."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "pre.onnx"
        src.write_bytes(float_bytes)
        try:
            quant_pre_process(str(src), str(dst))
        except Exception:  # noqa: BLE001 -- symbolic shape inference is best-effort; quantization works without it
            return float_bytes
        return dst.read_bytes()


def _reader(x: np.ndarray, batch: int = 32):
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(CalibrationDataReader):
        """Feeds calibration batches of the training split to onnxruntime's calibrator."""

        def __init__(self) -> None:
            self.batches = iter([{"input": x[i:i + batch]} for i in range(0, len(x), batch)])

        def get_next(self):
            return next(self.batches, None)

    return Reader()


def calibration_inputs(split: Split, samples: int, seed: int = 0) -> np.ndarray:
    """A seeded random subset of ``samples`` inputs of ``split`` (all of them if fewer)."""
    rng = np.random.default_rng(seed)
    index = rng.permutation(len(split))[:samples]
    return split.x[np.sort(index)].numpy()


def quantize_onnx(float_bytes: bytes, calibration: np.ndarray, config: QuantConfig = QuantConfig(),
                  ranges: Callable[[bytes], dict[str, tuple[float, float]]] | None = None) -> Quantized:
    """Static int8 quantization of a float ONNX model; raises when ``config.unsupported == "refuse"`` and a
    weighted layer (not listed in ``keep_float``) would still run in float. ``ranges`` maps the pre-processed
    float graph to activation ranges {tensor: (lo, hi)} that replace calibrated ones (QAT's learned ranges)."""
    require_onnxruntime("int8 quantization")
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    float_bytes = preprocess(float_bytes)
    nodes = weighted_nodes(float_bytes)
    names = {module_name(n): n for n, _ in nodes}
    unknown = [k for k in config.keep_float if k not in names]
    if unknown:
        raise ArchfitError(f"--keep-float {unknown[0]!r} is not a weighted layer of the model; "
                           f"expected one of {sorted(names)[:12]}")
    method = {"minmax": CalibrationMethod.MinMax, "entropy": CalibrationMethod.Entropy,
              "percentile": CalibrationMethod.Percentile}[config.calibration]
    fmt = QuantFormat.QOperator if config.format == "qoperator" else QuantFormat.QDQ
    overrides = {name: [{"rmin": np.float32(lo), "rmax": np.float32(hi)}]
                 for name, (lo, hi) in (ranges(float_bytes) if ranges else {}).items()}
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "float.onnx", Path(tmp) / "int8.onnx"
        src.write_bytes(float_bytes)
        try:
            quantize_static(str(src), str(dst), _reader(calibration), quant_format=fmt, per_channel=config.per_channel,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8, calibrate_method=method,
                            nodes_to_exclude=[names[k] for k in config.keep_float],
                            extra_options={"TensorQuantOverrides": overrides} if overrides else None)
        except Exception as exc:  # noqa: BLE001 -- onnxruntime raises many kinds
            reason = (str(exc).strip().splitlines() or [""])[0][:160]
            raise ArchfitError(f"onnxruntime could not quantize the model ({type(exc).__name__}: {reason})") from None
        quant_bytes = dst.read_bytes()
    layers = layer_report(float_bytes, quant_bytes)
    quant_bytes = _compacted(quant_bytes)
    stuck = [r for r in layers if not r.integer and r.layer not in config.keep_float]
    if stuck and config.unsupported == "refuse":
        raise ArchfitError(f"layer {stuck[0].layer!r} ({stuck[0].float_op}) would run in float in onnxruntime "
                           f"(as {stuck[0].runs_as}; {len(stuck)} such layers); keep it float with --keep-float "
                           f"{stuck[0].layer} or allow float layers with --unsupported float")
    return Quantized(quant_bytes, compact(float_bytes), layers)


def _compacted(quant_bytes: bytes) -> bytes:
    """``compact``-ed int8 bytes, kept only if onnxruntime executes the same ops for them (the per-layer verdict
    was read on the uncompacted file, whose tensor names tie fused nodes to layers)."""
    small = compact(quant_bytes)
    return small if op_counts(small) == op_counts(quant_bytes) else quant_bytes


def quantize_model(model, calibration_split: Split, input_shape: tuple[int, ...],
                   config: QuantConfig = QuantConfig(), ranges=None) -> Quantized:
    """A PyTorch model -> its int8 ONNX model, calibrated on ``calibration_split`` (use the training split)."""
    inputs = calibration_inputs(calibration_split, config.calibration_samples, config.seed)
    return quantize_onnx(float_onnx(model, input_shape), inputs, config, ranges)
