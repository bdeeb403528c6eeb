"""Bad input: one line naming the bad value and what was expected, exit code 2, no traceback,
nothing half-written."""

import json

import pytest

from archfit.cli import main
from tests.conftest import TINY_SPACE_ARGS

TINY = ["--space-args", json.dumps(TINY_SPACE_ARGS), "--trials", "2", "--epochs", "1", "--final-epochs", "1",
        "--no-progress", "--quiet"]


@pytest.mark.parametrize("args, expected", [
    (["--space", "resnet9000"], "unknown space 'resnet9000'"),
    (["--strategy", "annealing"], "unknown strategy 'annealing'"),
    (["--data", "imagenet"], "data 'imagenet' is neither a built-in dataset"),
    (["--max-flops", "lots"], "--max-flops 'lots' is not a number"),
    (["--max-params=-5k"], "--max-params '-5k'"),
    (["--max-flops", "1k"], "budget FLOPs <= 1k is impossible in space 'chain'"),
    (["--space-args", "{bad"], "--space-args '{bad' is not valid JSON"),
    (["--space-args", '{"max_depth": 1, "colour": 3}'], "space 'chain': bad parameters"),
    (["--trials", "0"], "--trials 0 must be >= 1"),
    (["--executor", "gpu-farm"], "unknown executor 'gpu-farm'"),
    (["--latency-runtime", "bogus"], "unknown --latency-runtime 'bogus'; expected one of ['torch', 'onnxruntime']"),
])
def test_search_bad_input(tmp_path, capsys, args, expected):
    out = tmp_path / "run"
    code = main(["search", *TINY, "--out", str(out), *args])
    err = capsys.readouterr().err
    assert code == 2
    assert expected in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists()  # nothing half-written


def test_argparse_errors_exit_2(capsys):
    with pytest.raises(SystemExit) as info:
        main(["search", "--trials", "many"])
    assert info.value.code == 2
    assert "invalid int value: 'many'" in capsys.readouterr().err


def test_resume_refuses_foreign_or_missing_folder(tmp_path, capsys):
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "store.sqlite").write_text("hello")
    assert main(["search", *TINY, "--out", str(foreign), "--resume"]) == 2
    assert "not an archfit run store" in capsys.readouterr().err
    assert (foreign / "store.sqlite").read_text() == "hello"
    assert main(["search", *TINY, "--out", str(tmp_path / "nothing"), "--resume"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["search", *TINY, "--resume"]) == 2
    assert "--resume needs --out" in capsys.readouterr().err


def test_existing_folder_and_mismatched_resume(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["search", *TINY, "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["search", *TINY, "--out", str(out)]) == 2
    assert "exists and is not empty" in capsys.readouterr().err
    assert main(["search", *TINY, "--out", str(out), "--resume", "--seed", "9"]) == 2
    assert "settings differ from the stored run (seed: 0 → 9)" in capsys.readouterr().err
    # latencies measured by another runtime are never mixed into a run: its trials' costs would disagree
    assert main(["search", *TINY, "--out", str(out), "--resume", "--latency-runtime", "onnxruntime"]) == 2
    assert "(latency_runtime: 'torch' → 'onnxruntime')" in capsys.readouterr().err


def test_runs_stored_before_latency_runtimes_resume_as_torch():
    from archfit.config import SearchConfig

    old = {k: v for k, v in SearchConfig().to_dict().items() if k != "latency_runtime"}
    assert SearchConfig.from_dict(old) == SearchConfig()
    assert SearchConfig.from_dict(old).differences(SearchConfig(latency_runtime="onnxruntime")) == [
        "latency_runtime: 'torch' → 'onnxruntime'"]


def test_export_bad_folder(tmp_path, capsys):
    assert main(["export", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
    (tmp_path / "arch.json").write_text("{not json")
    assert main(["export", str(tmp_path)]) == 2
    assert "is not valid JSON" in capsys.readouterr().err
