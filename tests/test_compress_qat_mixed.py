"""``compress`` with quantization-aware training and with the mixed-precision step, from the API and the CLI."""

from __future__ import annotations

import json

import pytest

from archfit.cli import main
from archfit.errors import ArchfitError
from archfit.quantize import CompressConfig, compress
from tests.test_compress_pipeline import FAST
from tests.test_quant import Tiny, tiny_data, trained

pytest.importorskip("onnxruntime")


def test_qat_quantize_step_exports_its_fake_quant_model(tmp_path):
    data = tiny_data()
    model = trained(Tiny(), data, epochs=6)
    config = CompressConfig(**{**FAST.__dict__, "qat_epochs": 2, "qat_lr": 0.01})
    result = compress(model, data, "quantize,export", {"size_bytes": "100%"}, tmp_path / "q", config,
                      log=lambda *a: None)
    quant = result.steps[1]
    qat = quant["extra"]["qat"]
    assert qat["epochs"] == 2 and quant["extra"]["integer_layers"] == 3
    # the int8 file in onnxruntime reproduces the fake-quant model's accuracy (one test sample = 1/48)
    assert abs(quant["metrics"]["test_acc"] - qat["fake_quant_test_acc"]) <= 2 / len(data.test) + 1e-9
    check = result.steps[-1]["extra"]["check"]
    assert check["int8_reproduced"] and check["float_reproduced"]  # the float model holds the QAT weights
    with pytest.raises(ArchfitError, match="qat-epochs 2 needs the quantize step"):
        compress(model, data, "distill,export", {"size_bytes": "100%"}, tmp_path / "x", config)


def test_mixed_step_keeps_float_layers_float_in_int8_and_meets_the_size(tmp_path):
    data = tiny_data()
    model = trained(Tiny(), data, epochs=6)
    config = CompressConfig(**{**FAST.__dict__, "mixed_bits": (32, 8), "mixed_strategy": "random",
                               "mixed_evaluations": 6})
    result = compress(model, data, "mixed,quantize,export", {"size_bytes": "60%"}, tmp_path / "m", config,
                      log=lambda *a: None)
    mixed, quant = result.steps[1], result.steps[2]
    bits = mixed["extra"]["bits"]
    assert set(bits) == {"conv1.0", "conv2.0", "fc"} and set(bits.values()) <= {8, 32}
    assert mixed["extra"]["packed_bytes"] <= result.budget["size_bytes"]
    floats = {r["layer"] for r in quant["extra"]["layers"] if not r["integer"]}
    assert floats == set(mixed["extra"]["float_layers"])
    with pytest.raises(ArchfitError, match="give --max-size"):
        compress(model, data, "mixed,quantize", {"flops": "50%"}, tmp_path / "n", config)


def test_cli_runs_mixed_and_qat_and_refuses_bad_bits(tmp_path, capsys):
    out = tmp_path / "cli"
    args = ["compress", "--model", "resnet20", "--model-args", json.dumps({"width": 4}), "--data", "digits",
            "--pretrain-epochs", "1", "--steps", "mixed,quantize,export", "--max-size", "40%",
            "--mixed-bits", "32,8", "--mixed-strategy", "random", "--mixed-evaluations", "3", "--qat-epochs", "1",
            "--calibration-samples", "64", "--out", str(out)]
    assert main(args) in (0, 1)  # 1 = ran but the final file exceeds the budget (reported, not hidden)
    results = json.loads((out / "results.json").read_text())
    assert [s["step"] for s in results["steps"]] == ["original", "mixed", "quantize", "export"]
    assert results["steps"][2]["extra"]["qat"]["epochs"] == 1
    capsys.readouterr()
    bad = list(args)
    bad[bad.index("32,8")], bad[-1] = "eight", str(tmp_path / "bad")
    assert main(bad) == 2
    assert "--mixed-bits 'eight'" in capsys.readouterr().err
