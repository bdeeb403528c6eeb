"""The int8 ONNX graph of a tiny depthwise (MobileNetV2-style) model: what is in the file and what runs."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from archfit.quantize.compact import compact
from archfit.quantize.inspect import op_counts
from archfit.quantize.ptq import QuantConfig, quantize_model
from archfit.quantize.runtime import ort_logits
from tests.test_quant import tiny_data, trained

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")
from onnx import numpy_helper


def block(c_in: int, c_out: int, k: int, groups: int = 1, act: bool = True) -> nn.Sequential:
    layers = [nn.Conv2d(c_in, c_out, k, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]
    return nn.Sequential(*layers, *([nn.ReLU6()] if act else []))


class TinyDepthwise(nn.Module):
    """Stem, one inverted residual (1x1 expand, 3x3 depthwise, 1x1 project, residual add), classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = block(1, 16, 3)
        self.expand, self.dw, self.project = block(16, 64, 1), block(64, 64, 3, groups=64), block(64, 16, 1, act=False)
        self.fc = nn.Linear(16, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x + self.project(self.dw(self.expand(x)))
        return self.fc(x.mean((2, 3)))


@pytest.fixture(scope="module")
def quantized():
    data = tiny_data()
    torch.manual_seed(0)
    model = trained(TinyDepthwise(), data, epochs=3)
    return model, data, quantize_model(model, data.train, (1, 8, 8), QuantConfig(calibration_samples=64))


def test_depthwise_model_runs_every_layer_in_int8_with_folded_batchnorm(quantized):
    _, _, q = quantized
    assert [r.layer for r in q.layers] == ["stem.0", "expand.0", "dw.0", "project.0", "fc"]
    assert all(r.integer for r in q.layers), q.layers
    executed = op_counts(q.model_bytes)
    assert executed.get("QLinearConv") == 4 and executed.get("QGemm") == 1, executed
    assert not {"Conv", "FusedConv", "NchwcConv", "BatchNormalization", "Clip", "Relu"} & set(executed), executed
    in_file = op_counts(q.model_bytes, executed=False)
    assert "BatchNormalization" not in op_counts(q.float_bytes, executed=False)
    assert "Clip" not in in_file  # ReLU6 is folded into the quantized output range


def test_int8_file_holds_only_int8_weights_and_little_else(quantized):
    _, _, q = quantized
    graph = onnx.load_from_string(q.model_bytes).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    weights = {n.input[3] for n in graph.node if n.op_type == "QLinearConv"}
    assert {arrays[w].dtype for w in weights} == {np.dtype(np.int8)}
    # no float tensor of weight shape left beside the quantized ones (float tensors: scales, 1-D or scalars)
    assert all(a.ndim <= 1 for a in arrays.values() if a.dtype == np.float32)
    assert len(graph.value_info) == 0
    assert all(len(t.name) <= 4 for t in graph.initializer)
    tensor_bytes = sum(a.nbytes for a in arrays.values())
    assert len(q.model_bytes) - tensor_bytes < 150 * len(graph.node) + 16 * len(graph.initializer) + 300


def test_zero_points_become_scalars_and_float_file_matches_pytorch(quantized):
    model, data, q = quantized
    x = data.test.x
    assert len(compact(q.model_bytes)) == len(q.model_bytes)  # idempotent
    # the per-channel weight zero points were all zero and became scalars, outputs unchanged
    graph = onnx.load_from_string(q.model_bytes).graph
    arrays = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    assert all(arrays[n.input[5]].ndim == 0 for n in graph.node if n.op_type == "QLinearConv")
    with torch.no_grad():
        assert np.abs(ort_logits(q.float_bytes, x) - model(x).numpy()).max() < 1e-4


def test_compact_is_bit_identical_on_an_uncompacted_int8_file(quantized, tmp_path):
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    from archfit.quantize.ptq import _reader, calibration_inputs

    _, data, q = quantized
    src, dst = tmp_path / "f.onnx", tmp_path / "q.onnx"
    src.write_bytes(q.float_bytes)
    quantize_static(str(src), str(dst), _reader(calibration_inputs(data.train, 64)), quant_format=QuantFormat.QOperator,
                    per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
    raw = dst.read_bytes()
    small = compact(raw)
    assert len(small) < 0.9 * len(raw)
    assert np.array_equal(ort_logits(raw, data.test.x), ort_logits(small, data.test.x))
    assert op_counts(raw) == op_counts(small)
