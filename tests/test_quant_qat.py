"""QAT: fake-quant training whose learned ranges the exported onnxruntime int8 model uses and reproduces."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from archfit.quantize.ptq import QuantConfig, quantize_model
from archfit.quantize.qat import (
    ActQuant,
    QATConfig,
    act_quants,
    prepare_qat,
    qat_train,
    tensor_ranges,
    uint8_qparams,
    write_back,
)
from archfit.quantize.runtime import ort_logits
from archfit.train.trainer import accuracy
from tests.test_quant import tiny_data, trained
from tests.test_quant_graph import TinyDepthwise

pytest.importorskip("onnxruntime")


class PoolNet(TinyDepthwise):
    """TinyDepthwise with AdaptiveAvgPool2d (-> GlobalAveragePool, which onnxruntime quantizes)."""

    def __init__(self) -> None:
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        x = x + self.project(self.dw(self.expand(x)))
        return self.fc(self.pool(x).flatten(1))


def test_uint8_qparams_follow_onnxruntime():
    from onnxruntime.quantization.quant_utils import compute_scale_zp

    for lo, hi in ((-1.3, 2.7), (0.2, 5.0), (-4.0, -0.5)):
        zero, scale = compute_scale_zp(np.float32(lo), np.float32(hi), np.uint8(0), np.uint8(255))
        ours = uint8_qparams(torch.tensor(lo), torch.tensor(hi))
        assert ours == (pytest.approx(float(scale), rel=1e-7), int(zero))


def test_quantization_points_sit_where_onnxruntime_quantizes():
    gm = prepare_qat(PoolNet().eval())
    code = gm.code
    assert "bn" not in code.lower()  # BatchNorm folded
    # input, stem (after ReLU6), expand, dw (after their ReLU6), project, add, pool: 7 points; fc output: 8
    assert len(act_quants(gm)) == 8, code


@pytest.fixture(scope="module")
def qat_run():
    data = tiny_data(n=256)
    torch.manual_seed(0)
    model = trained(PoolNet(), data, epochs=3)
    qat = qat_train(model, data, QATConfig(epochs=2, lr=0.01))
    return model, data, qat


def test_qat_model_exports_to_an_integer_graph_that_reproduces_it(qat_run):
    model, data, qat = qat_run
    assert all(bool(q.seen) and q.hi > q.lo for q in act_quants(qat).values())
    back = write_back(model, qat)
    ranges = tensor_ranges(qat, data.train.x[:32])
    q = quantize_model(back, data.train, (1, 8, 8), QuantConfig(calibration_samples=64), ranges=ranges)
    assert all(r.integer for r in q.layers), q.layers
    x = data.test.x
    with torch.no_grad():
        fake = qat(x).numpy()
        # the written-back model in its original structure computes the QAT weights in float
        assert np.abs(back(x).numpy() - nn.Module.__call__(_float(qat), x).numpy()).max() < 1e-4
    int8 = ort_logits(q.model_bytes, x)
    agree = (int8.argmax(1) == fake.argmax(1)).mean()
    assert agree >= 0.97, agree
    assert abs(accuracy(qat, data.test) - float((int8.argmax(1) == data.test.y.numpy()).mean())) <= 0.03
    # logits agree closely (output quantization step and int32-bias rounding aside)
    assert np.abs(int8 - fake).mean() < 0.05 * np.abs(fake).mean() + 0.05


def test_learned_ranges_reach_the_int8_file(qat_run):
    import onnx
    from onnx import numpy_helper

    model, data, qat = qat_run
    back = write_back(model, qat)
    from archfit.quantize.ptq import preprocess
    from archfit.quantize.runtime import float_onnx

    ranges = tensor_ranges(qat, data.train.x[:32])
    found = ranges(preprocess(float_onnx(back, (1, 8, 8))))
    assert len(set(found.values())) == 8  # input, stem, expand, dw, project, add, pool, logits
    q = quantize_model(back, data.train, (1, 8, 8), QuantConfig(calibration_samples=64), ranges=ranges)
    scales = {float(numpy_helper.to_array(t)) for t in onnx.load_from_string(q.model_bytes).graph.initializer
              if t.data_type == onnx.TensorProto.FLOAT and not t.dims}
    learned = {round(uint8_qparams(torch.tensor(lo), torch.tensor(hi))[0], 9) for lo, hi in found.values()}
    assert learned <= {round(s, 9) for s in scales}


def _float(qat: nn.Module) -> nn.Module:
    from archfit.quantize.qat import export_model

    return export_model(qat)


def test_actquant_is_identity_before_observing_and_when_disabled():
    q = ActQuant().eval()
    x = torch.randn(4, 3)
    assert torch.equal(q(x), x)
    q.train()
    y = q(x)
    assert not torch.equal(y, x) and torch.allclose(y, x, atol=(x.max() - x.min()).item() / 255)
    q.enabled = False
    assert torch.equal(q(x), x)
