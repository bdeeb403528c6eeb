"""``archfit slim`` end to end on digits, and one-line errors with exit code 2 for bad input."""

import json
import subprocess
import sys
from pathlib import Path

import torch

from archfit.cli import main
from archfit.compress.extract import load_slimmed
from archfit.io import save_tensors
from archfit.models.toys import ConcatNet

USER_MODEL = '''
from torch import nn

class TinyNet(nn.Module):
    def __init__(self, num_classes=10, in_channels=1, width=8):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU())
        self.head = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.head(self.body(x).mean((2, 3)))
'''

TINY = ["--pretrain-epochs", "2", "--supernet-epochs", "1", "--evaluations", "5", "--finetune-epochs", "1"]


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.startswith("archfit: error:") and len(err.splitlines()) == 1, err
    return err


def test_end_to_end_user_file_model(tmp_path):
    path = tmp_path / "tiny.py"
    path.write_text(USER_MODEL)
    out = tmp_path / "run"
    code = main(["slim", "--model", f"{path}:TinyNet", "--model-args", '{"width": 8}', "--data", "digits",
                 "--max-flops", "40%", "--method", "width,l1", "--latency-runtime", "onnxruntime", "--out", str(out),
                 *TINY])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["latency_runtime"] == results["config"]["latency_runtime"] == "onnxruntime"
    assert "onnxruntime" in results["units"]["latency_ms"] and "(ms, onnxruntime)" in (out / "report.html").read_text()
    assert [m["method"] for m in results["methods"]] == ["width", "l1"]
    for entry in results["methods"]:
        for side in ("before", "after"):
            assert set(entry[side]) == {"flops", "params", "latency_ms", "test_acc"}
        assert entry["after"]["flops"] <= 0.4 * entry["before"]["flops"]
        assert entry["after"]["flops"] < entry["before"]["flops"]
    width = results["methods"][0]
    assert width["predicted_flops"] == width["after"]["flops"]
    assert "Per-layer widths" in (out / "report.html").read_text() and (out / "widths.png").is_file()
    model, record = load_slimmed(out / "width")
    assert record["widths"] == width["widths"]
    assert main(["export", str(out / "width"), "--onnx", str(tmp_path / "width.onnx")]) == 0
    assert (tmp_path / "width.onnx").stat().st_size > 0


def test_budget_below_what_kept_layers_allow_is_refused_with_the_tie(capsys):
    err = _error(capsys, ["slim", "--model", "se_dense", "--model-args", '{"width": 8, "growth": 8}', "--data",
                          "digits", "--max-flops", "1k", "--pretrain-epochs", "0", "--ignore", "stem.0"])
    assert "cannot be met" in err and "kept layer 'stem.0' ties" in err and "can go down to" in err


def test_malformed_spec_missing_class_missing_file(capsys, tmp_path):
    assert "is not a model spec" in _error(capsys, ["slim", "--model", "no colon here", "--max-flops", "50%"])
    assert "has no attribute 'Nope'" in _error(capsys, ["slim", "--model", "archfit.models.resnet:Nope",
                                                       "--max-flops", "50%"])
    assert "does not exist" in _error(capsys, ["slim", "--model", f"{tmp_path}/none.py:Net", "--max-flops", "50%"])
    assert "--model-args" in _error(capsys, ["slim", "--model", "cnn1d", "--model-args", "[1", "--max-flops", "5M"])
    assert "--method" in _error(capsys, ["slim", "--model", "cnn1d", "--method", "magic", "--max-flops", "5M"])
    assert "unknown --latency-runtime 'tvm'; expected one of ['torch', 'onnxruntime']" in _error(
        capsys, ["slim", "--model", "cnn1d", "--latency-runtime", "tvm", "--max-flops", "5M"])


def test_mismatched_weights_exit_2(capsys, tmp_path):
    weights = tmp_path / "w.safetensors"
    save_tensors(weights, ConcatNet(in_channels=1, width=4).state_dict())
    err = _error(capsys, ["slim", "--model", "concat", "--model-args", '{"width": 8}', "--data", "digits",
                          "--weights", str(weights), "--max-flops", "50%"])
    assert "does not match the model" in err and "shape" in err
    pickled = tmp_path / "evil.pt"
    torch.save({"x": object()}, pickled)
    err = _error(capsys, ["slim", "--model", "concat", "--data", "digits", "--weights", str(pickled),
                          "--max-flops", "50%"])
    assert "weights-only" in err or "not a readable" in err


def test_subprocess_exit_code():
    proc = subprocess.run([sys.executable, "-m", "archfit", "slim", "--model", "pkg.mod:", "--max-flops", "50%"],
                          capture_output=True, text=True, cwd=Path(__file__).resolve().parents[1], timeout=120)
    assert proc.returncode == 2 and "is not a model spec" in proc.stderr
