"""Supernet training under torchrun (gloo on CPU): 2 processes against 1 with the same global batch.

Tolerances: with BatchNorm statistics frozen (no batch-dependent layer) every weight and momentum buffer
of 2 processes matches the plain single-process loop to 1e-4 relative per tensor, for single-path
(uniform: most weights unused each step; the close rule's weight banks pass the same check). With live BatchNorm each rank
normalises its own half batch (no synchronised elastic BatchNorm), so the real entry point is held to:
final mean loss per path within 25% relative, and supernet-scored validation accuracy of the same
archs within 0.1 (measured here: loss 7%, accuracy 0.04 apart; docs/scale.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

from archfit.io import load_tensors

ROOT = Path(__file__).resolve().parents[1]
SPACE_ARGS = {"max_depth": 1, "stage_channels": [8, 12], "kernels": [3, 5], "expansions": [2, 4],
              "widths": [0.5, 1.0], "stem_channels": 8, "head_channels": 16}


def torchrun(processes: int, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *args]
    result = subprocess.run(command, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_two_processes_match_the_single_process_loop_without_batch_statistics(tmp_path):
    for n in (1, 2):  # uniform: one path per step, so most weights get no gradient (find_unused_parameters)
        torchrun(n, str(ROOT / "tests" / "ddp_supernet_worker.py"), str(tmp_path / f"p{n}.safetensors"), "uniform")
    one, two = load_tensors(tmp_path / "p1.safetensors"), load_tensors(tmp_path / "p2.safetensors")
    assert set(one) == set(two) and int(one["meta.epoch"]) == int(two["meta.epoch"]) == 2
    assert any(k.startswith("momentum.") for k in one)
    for key in one:
        a, b = one[key].double(), two[key].double()
        assert float((a - b).abs().max()) / (float(a.abs().max()) + 1e-12) < 1e-4, key


def test_supernet_ddp_entry_point_and_search_reuses_its_checkpoint(tmp_path):
    common = ["-m", "archfit.supernet.ddp", "--data", "digits", "--sampler", "sandwich", "--epochs", "4",
              "--batch-size", "32", "--lr", "0.1",
              "--space-args", json.dumps(SPACE_ARGS), "--quiet"]
    for n in (1, 2):
        torchrun(n, *common, "--out", str(tmp_path / f"p{n}"))
    one, two = (json.loads((tmp_path / f"p{n}" / "supernet.json").read_text()) for n in (1, 2))
    assert one["ddp"]["processes"] == 1 and two["ddp"]["processes"] == 2 and two["ddp"]["backend"] == "gloo"
    loss1, loss2 = one["stats"]["final_loss"], two["stats"]["final_loss"]
    assert abs(loss1 - loss2) / loss1 < 0.25, (loss1, loss2)

    from archfit.data import load_data
    from archfit.estimate.supernet import SupernetEstimator
    from archfit.space import create_space
    from archfit.supernet.supernet import Supernet
    from archfit.supernet.training import load_checkpoint

    data = load_data("digits")
    space = create_space("chain", input_shape=list(data.input_shape), num_classes=data.num_classes, **SPACE_ARGS)
    archs = [space.largest(), space.smallest()] + [space.sample(np.random.default_rng(i)) for i in range(2)]
    scores = []
    for n in (1, 2):
        supernet = Supernet(space)
        assert load_checkpoint(tmp_path / f"p{n}" / "supernet.safetensors", supernet) == 4
        estimator = SupernetEstimator(supernet, data, seed=0, label="sandwich")
        scores.append([estimator.estimate(arch).metrics["valid_acc"] for arch in archs])
    assert min(scores[0]) > 0.8 and min(scores[1]) > 0.8  # both learned
    assert max(abs(a - b) for a, b in zip(*scores)) <= 0.1, scores

    out = tmp_path / "run"  # archfit search picks the DDP checkpoint up instead of training its own
    result = subprocess.run(
        [sys.executable, "-m", "archfit", "search", "--estimator", "supernet", "--sampler", "sandwich",
         "--supernet", str(tmp_path / "p2" / "supernet.safetensors"), "--supernet-epochs", "4",
         "--space-args", json.dumps(SPACE_ARGS), "--trials", "2", "--final-epochs", "0", "--max-flops", "10M",
         "--out", str(out), "--no-progress", "--quiet"],
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, cwd=str(ROOT), capture_output=True,
        text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["supernet"]["resumed_from_epoch"] == 4 and results["supernet"]["paths_trained"] == 0
    assert (out / "supernet.safetensors").read_bytes() == (tmp_path / "p2" / "supernet.safetensors").read_bytes()


def test_supernet_flag_rejects_a_foreign_file_in_one_line(tmp_path):
    bogus = tmp_path / "w.safetensors"
    bogus.write_bytes(b"not a checkpoint")
    result = subprocess.run(
        [sys.executable, "-m", "archfit", "search", "--estimator", "supernet", "--supernet", str(bogus),
         "--supernet-epochs", "1", "--space-args", json.dumps(SPACE_ARGS), "--trials", "1", "--out",
         str(tmp_path / "run"), "--no-progress"],
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, cwd=str(ROOT), capture_output=True,
        text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert str(bogus) in result.stderr and not (tmp_path / "run").exists()


def test_supernet_flag_rejects_a_checkpoint_of_another_rule(tmp_path):
    """A checkpoint names the rule that trained it; searching it under another --sampler would mislabel it."""
    from archfit.io import save_tensors

    checkpoint = tmp_path / "sandwich.safetensors"
    save_tensors(checkpoint, {"meta.epoch": torch.tensor(3), "meta.sampler": torch.tensor(list(b"sandwich"), dtype=torch.uint8)})
    result = subprocess.run(
        [sys.executable, "-m", "archfit", "search", "--estimator", "supernet", "--supernet", str(checkpoint),
         "--sampler", "uniform", "--supernet-epochs", "3", "--space-args", json.dumps(SPACE_ARGS), "--trials", "1",
         "--out", str(tmp_path / "run"), "--no-progress"],
        env={**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}, cwd=str(ROOT), capture_output=True,
        text=True, timeout=120)
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "'sandwich'" in result.stderr and "--sampler sandwich" in result.stderr and not (tmp_path / "run").exists()
