"""``compress``: steps measured and saved, resumable, artefacts reproduce the evaluated accuracy, budgets refused
before any work with how far they can go, and the CLI's exit code 2 leaving --out absent."""

from __future__ import annotations

import json

import pytest
import torch

from archfit.cli import main
from archfit.data.base import DataModule, Split
from archfit.errors import ArchfitError
from archfit.quantize import CompressConfig, compress
from tests.test_quant import Tiny, tiny_data, trained

FAST = CompressConfig(pretrain_epochs=2, supernet_epochs=1, evaluations=2, finetune_epochs=1, distill_epochs=1,
                      batch_size=32)


def test_quantize_export_writes_checked_files_and_resumes(tmp_path):
    data = tiny_data()
    model = trained(Tiny(), data, epochs=10)
    out = tmp_path / "c"
    result = compress(model, data, "distill,quantize,export", {"size_bytes": "100%"}, out, FAST, log=lambda *a: None)
    assert [s["step"] for s in result.steps] == ["original", "distill", "quantize", "export"]
    for name in ("model.safetensors", "model.onnx", "model.int8.onnx", "results.json", "report.html", "compress.png"):
        assert (out / name).is_file(), name
    q = result.steps[2]
    assert q["metrics"]["precision"] == "int8" and q["extra"]["integer_layers"] == q["extra"]["weighted_layers"] == 3
    check = result.steps[-1]["extra"]["check"]
    assert check["int8_reproduced"] and check["float_reproduced"]
    assert result.steps[-1]["metrics"]["size_bytes"] == (out / "model.int8.onnx").stat().st_size
    assert result.fits and result.int8 == (out / "model.int8.onnx").read_bytes()
    for row in result.steps:
        m = row["metrics"]
        assert m["runtime"] == "onnxruntime" and m["latency_ms_b1"] > 0 and m["latency_ms_b64"] > 0

    lines: list[str] = []
    again = compress(model, data, "distill,quantize,export", {"size_bytes": "100%"}, out, FAST, resume=True,
                     log=lines.append)
    assert sum("done before" in line for line in lines) == 3
    assert [s["metrics"] for s in again.steps] == [s["metrics"] for s in result.steps]
    with pytest.raises(ArchfitError, match="exists"):
        compress(model, data, "quantize,export", {"size_bytes": "100%"}, out, FAST)
    with pytest.raises(ArchfitError, match="other settings"):
        compress(model, data, "distill,quantize,export", {"size_bytes": "90%"}, out, FAST, resume=True)


def test_unreachable_budget_is_refused_before_any_work(tmp_path):
    data = tiny_data()
    out = tmp_path / "never"
    with pytest.raises(ArchfitError, match=r"cannot be met: size_bytes .* int8 is ~4x smaller"):
        compress(Tiny(), data, "quantize,export", {"size_bytes": "1KB"}, out, FAST)
    assert not out.exists()
    with pytest.raises(ArchfitError, match="order"):
        compress(Tiny(), data, "export,quantize", {"size_bytes": "1MB"}, out, FAST)
    with pytest.raises(ArchfitError, match="no budget"):
        compress(Tiny(), data, "quantize", {}, out, FAST)
    with pytest.raises(ArchfitError, match="slim step needs the model as a spec"):
        compress(Tiny(), data, "slim,quantize", {"size_bytes": "50%"}, out, FAST)
    assert not out.exists()


def signals(n: int = 240, length: int = 32) -> DataModule:
    g = torch.Generator().manual_seed(0)
    y = torch.randint(0, 3, (n,), generator=g)
    x = torch.randn(n, 1, length, generator=g) * 0.3
    for i, c in enumerate(y.tolist()):
        x[i, 0, 8 * c:8 * c + 8] += 2.0
    part = lambda a, b: Split(x[a:b], y[a:b])
    return DataModule("signals", part(0, 120), part(120, 180), part(180, n), 3)


def test_slim_step_meets_a_size_budget_and_resumes_at_the_slimmed_widths(tmp_path):
    data, out = signals(), tmp_path / "s"
    config = CompressConfig(**{**FAST.__dict__, "model_args": {"channels": [16, 64, 64], "pool_after": [1]}})
    result = compress("cnn1d", data, "slim,quantize,export", {"size_bytes": "12%"}, out, config, log=lambda *a: None)
    original, slim, final = (result.steps[i]["metrics"] for i in (0, 1, -1))
    assert slim["params"] < original["params"]
    assert result.fits, result.violations
    assert final["size_bytes"] <= result.budget["size_bytes"]
    again = compress("cnn1d", data, "slim,quantize,export", {"size_bytes": "12%"}, out, config, resume=True,
                     log=lambda *a: None)
    assert sum(p.numel() for p in again.model.parameters()) == slim["params"]


def test_cli_refuses_unreachable_budget_with_exit_2(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(["compress", "--model", "resnet20", "--model-args", json.dumps({"width": 4}), "--data", "digits",
                 "--steps", "quantize,export", "--max-size", "1KB", "--out", str(out)])
    assert code == 2 and not out.exists()
    err = capsys.readouterr().err
    assert "cannot be met" in err and len(err.strip().splitlines()) == 1
    assert main(["compress", "--model", "resnet20", "--data", "digits", "--max-size", "5 parsecs",
                 "--out", str(out)]) == 2
    assert not out.exists()
