"""onnxruntime int8 PTQ on tiny models: the executed graph is inspected layer by layer; size parsing; low-bit passes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from archfit.cost.size import format_bytes, parse_bytes, size_bytes, state_dict_bytes
from archfit.data.base import DataModule, Split
from archfit.errors import ArchfitError
from archfit.quantize.inspect import module_name
from archfit.quantize.ptq import QuantConfig, quantize_model
from archfit.quantize.runtime import float_onnx, ort_logits

pytest.importorskip("onnxruntime")


class Tiny(nn.Module):
    def __init__(self, up: bool = False) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16), nn.ReLU())
        self.conv2 = nn.Sequential(nn.Conv2d(16, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
        self.up = nn.ConvTranspose2d(64, 64, 2, stride=2) if up else nn.Identity()
        self.fc = nn.Linear(64, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.up(self.conv2(self.conv1(x))).mean((2, 3)))


def tiny_data(n: int = 192, seed: int = 0) -> DataModule:
    """Three classes told apart by where a bright blob sits: learnable in a few epochs."""
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 1, 8, 8, generator=g) * 0.3
    for i, c in enumerate(y.tolist()):
        x[i, 0, 2 * c:2 * c + 3, 2:6] += 2.0
    split = lambda a, b: Split(x[a:b], y[a:b])
    return DataModule("blobs", split(0, n // 2), split(n // 2, 3 * n // 4), split(3 * n // 4, n), 3)


def trained(model: nn.Module, data: DataModule, epochs: int = 4) -> nn.Module:
    from archfit.train.trainer import TrainConfig, train

    torch.manual_seed(0)
    train(model, data.train, TrainConfig(epochs=epochs, batch_size=32, lr=0.05, seed=0))
    return model.eval()


def test_every_layer_runs_as_integer_op_and_file_is_smaller():
    data = tiny_data()
    torch.manual_seed(0)
    model = trained(Tiny(), data)
    q = quantize_model(model, data.train, (1, 8, 8))
    assert [r.layer for r in q.layers] == ["conv1.0", "conv2.0", "fc"]
    assert all(r.integer for r in q.layers), q.layers
    assert {r.runs_as for r in q.layers} <= {"QLinearConv", "QGemm"}
    assert len(q.model_bytes) < len(q.float_bytes) / 2.5  # names and per-channel scales weigh in a tiny net
    x = data.test.x
    agree = (ort_logits(q.model_bytes, x).argmax(1) == ort_logits(q.float_bytes, x).argmax(1)).mean()
    assert agree >= 0.9
    with torch.no_grad():
        assert np.abs(ort_logits(q.float_bytes, x) - model(x).numpy()).max() < 1e-4


def test_layers_left_float_are_reported_as_float():
    data = tiny_data()
    torch.manual_seed(0)
    model = Tiny(up=True).eval()
    q = quantize_model(model, data.train, (1, 8, 8), QuantConfig(keep_float=("conv2.0",)))
    verdict = {r.layer: r.integer for r in q.layers}
    assert verdict == {"conv1.0": True, "conv2.0": False, "up": False, "fc": True}
    with pytest.raises(ArchfitError, match="'up'.*--keep-float up"):
        quantize_model(model, data.train, (1, 8, 8), QuantConfig(unsupported="refuse"))
    quantize_model(model, data.train, (1, 8, 8), QuantConfig(unsupported="refuse", keep_float=("up",)))
    with pytest.raises(ArchfitError, match="not a weighted layer"):
        quantize_model(model, data.train, (1, 8, 8), QuantConfig(keep_float=("nope",)))


def test_qdq_format_is_fused_into_integer_kernels():
    data = tiny_data()
    q = quantize_model(Tiny().eval(), data.train, (1, 8, 8), QuantConfig(format="qdq"))
    assert all(r.integer for r in q.layers), q.layers


def test_module_name_from_onnx_scope():
    assert module_name("/layers/layers.0/conv1/Conv") == "layers.0.conv1"
    assert module_name("/features/features.1/block/block.0/block.0.0/Conv") == "features.1.block.0.0"


def test_parse_and_format_bytes():
    assert parse_bytes("200KB") == 200_000
    assert parse_bytes("1.5MB") == 1_500_000
    assert parse_bytes("64KiB") == 65536
    assert parse_bytes("5000") == 5000
    assert parse_bytes(" 2 kb ") == 2000
    for bad in ("", "KB", "-5KB", "5 parsecs", "0"):
        with pytest.raises(ArchfitError):
            parse_bytes(bad)
    assert format_bytes(1_234_567) == "1.23 MB"


def test_size_bytes_is_float_onnx_with_folded_batchnorm():
    model = Tiny().eval()
    weights = sum(p.numel() for n, p in model.named_parameters() if "1." not in n.split(".", 1)[-1][:2]) * 4
    size = size_bytes(model, (1, 8, 8))
    assert size == len(float_onnx(model, (1, 8, 8)))
    assert weights * 0.9 < size < state_dict_bytes(model) + 4000  # BN folded: no running stats stored
