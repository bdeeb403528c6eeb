"""Which layers of a quantized ONNX model really run as integer ops in onnxruntime.

Quantizing a file does not make it run in int8: onnxruntime fuses QuantizeLinear/DequantizeLinear pairs
into integer kernels only for some patterns, and whatever it does not fuse runs dequantized, in float.
So the verdict comes from the graph onnxruntime actually executes (``SessionOptions.optimized_model_filepath``
after all graph optimisations), matched layer by layer to the float graph's weighted nodes by node name
(onnxruntime keeps the original name as a prefix of a fused node's name).
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from archfit.quantize.runtime import session

WEIGHTED = ("Conv", "ConvTranspose", "Gemm", "MatMul")  # the layers that hold weights in a float graph
INTEGER = ("QLinearConv", "ConvInteger", "MatMulInteger", "QLinearMatMul", "QGemm", "MatMulIntegerToFloat",
           "DynamicQuantizeMatMul")
FLOAT = ("Conv", "FusedConv", "NchwcConv", "ConvTranspose", "Gemm", "FusedGemm", "MatMul", "FusedMatMul")


@dataclass(frozen=True)
class LayerQuant:
    """One weighted layer: its PyTorch-style name, ONNX op in the float graph, the op onnxruntime runs for it
    and whether that op computes in integers."""

    layer: str
    node: str
    float_op: str
    runs_as: str
    integer: bool

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def module_name(node_name: str) -> str:
    """``/layers/layers.0/conv1/Conv`` -> ``layers.0.conv1`` (the TorchScript exporter's scope names: a segment
    extending the previous one, like ``layers.0`` after ``layers``, replaces it)."""
    parts: list[str] = []
    for segment in node_name.strip("/").split("/")[:-1]:
        if parts and segment.startswith(parts[-1] + "."):
            parts[-1] = segment
        else:
            parts.append(segment)
    return ".".join(parts) or node_name


def weighted_nodes(model_bytes: bytes) -> list[tuple[str, str]]:
    """(node name, op type) of every weighted layer of a float ONNX graph, in graph order."""
    import onnx

    graph = onnx.load_from_string(model_bytes).graph
    return [(n.name, n.op_type) for n in graph.node if n.op_type in WEIGHTED]


def executed_graph(model_bytes: bytes) -> Any:
    """The graph onnxruntime's CPU provider runs after all its optimisations (fusions, layout changes)."""
    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "optimized.onnx")
        session(model_bytes, optimized_path=path)
        return onnx.load(path)


def layer_report(float_bytes: bytes, quant_bytes: bytes) -> list[LayerQuant]:
    """Per weighted layer of the float model: the op onnxruntime executes for it in the quantized model."""
    executed = executed_graph(quant_bytes).graph.node
    rows = []
    for name, op in weighted_nodes(float_bytes):
        match = next((n for n in executed if n.name == name or n.name.startswith(name + "_")), None)
        runs_as = match.op_type if match is not None else "not found"
        rows.append(LayerQuant(module_name(name), name, op, runs_as, runs_as in INTEGER))
    return rows


def op_counts(model_bytes: bytes, executed: bool = True) -> dict[str, int]:
    """Op types and their counts in the graph onnxruntime executes (or in the file, ``executed=False``)."""
    import onnx

    graph = executed_graph(model_bytes).graph if executed else onnx.load_from_string(model_bytes).graph
    return dict(Counter(n.op_type for n in graph.node))


def summary(rows: list[LayerQuant]) -> str:
    """``'21/21 weighted layers run as integer ops'`` plus the float ones by name."""
    floats = [f"{r.layer} ({r.runs_as})" for r in rows if not r.integer]
    text = f"{sum(r.integer for r in rows)}/{len(rows)} weighted layers run as integer ops in onnxruntime"
    return text + ("; float: " + ", ".join(floats) if floats else "")
