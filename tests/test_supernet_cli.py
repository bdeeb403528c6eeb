"""End to end through the command line: a tiny supernet search and a tiny rank check."""

from __future__ import annotations

import json

import torch

from archfit.cli import main
from archfit.run.artifacts import load_model, verify_model

torch.set_num_threads(1)
TINY = json.dumps({"max_depth": 1, "stage_channels": [8, 12], "kernels": [3, 5], "expansions": [2, 3],
                   "widths": [0.5, 1.0], "stem_channels": 8, "head_channels": 16})


def test_supernet_search_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["search", "--data", "digits", "--space-args", TINY, "--strategy", "random", "--trials", "3",
            "--estimator", "supernet", "--sampler", "sandwich", "--supernet-epochs", "1", "--final", "finetune",
            "--final-epochs", "1", "--max-flops", "10M", "--out", str(out), "--no-progress", "--quiet"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["supernet"]["epochs"] == 1 and "sandwich" in results["supernet"]["sampler"]
    assert "inherited from a supernet" in results["estimator"]
    assert results["best"]["final_training"]["mode"] == "finetune"
    assert "the costlier in flops" in results["best"]["selection"]  # supernet ties go to the larger arch
    assert results["n_trials"] == 3 and all(t["fidelity"]["supernet"] == "sandwich" for t in results["trials"])
    assert (out / "supernet.safetensors").is_file()
    _, _, model = load_model(out)  # what archfit export rebuilds from arch.json
    assert verify_model(out, model) < 1e-5
    assert main(args + ["--resume"]) == 0  # the checkpoint is complete: nothing is retrained
    assert json.loads((out / "results.json").read_text())["supernet"]["resumed_from_epoch"] == 1


def test_bad_supernet_settings_fail_in_one_line(tmp_path, capsys):
    base = ["search", "--data", "digits", "--estimator", "supernet", "--out", str(tmp_path / "x"), "--no-progress"]
    assert main(base + ["--sampler", "bogus"]) == 2
    assert "unknown supernet sampler 'bogus'" in capsys.readouterr().err
    assert main(base + ["--supernet-epochs", "0"]) == 2
    assert "--supernet-epochs 0" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_rank_check_end_to_end_and_cached_rerun(tmp_path, capsys):
    out = tmp_path / "rc"
    args = ["rank-check", "--data", "digits", "--space-args", TINY, "--k", "4", "--seeds", "0", "1", "--epochs", "1",
            "--sampler", "uniform", "--supernet-epochs", "1", "--top-k", "2", "--out", str(out)]
    assert main(args) == 0
    result = json.loads((out / "rank_check.json").read_text())
    assert set(result["uniform"]) >= {"kendall_tau", "spearman_rho", "top2_precision", "throughput_ratio"}
    assert {"params_baseline", "flops_baseline", "noise_ceiling"} <= set(result)
    assert result["ground_truth"]["k"] == 4 and result["ground_truth"]["runs"] == 8
    assert (out / "report.html").is_file() and (out / "scatter_uniform.png").is_file()
    cache = (out / "groundtruth.json").stat().st_mtime_ns
    assert main(args) == 0  # rerun: everything cached, nothing retrained
    assert (out / "groundtruth.json").stat().st_mtime_ns == cache
    assert "supernet epoch" not in capsys.readouterr().out.split("Kendall tau")[-2]
