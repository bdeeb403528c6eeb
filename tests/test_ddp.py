"""DDP under torchrun (gloo on CPU): 2 processes against 1 process with the same global batch.

Tolerances: a BatchNorm-free network must match to 1e-4 relative per tensor (only float summation order
differs). BatchNorm networks on CPU normalise per rank (torch has no CPU SyncBatchNorm), so the searched
chain model is held to: validation accuracy within 0.05 and final training loss within 25% relative.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from archfit.data import load_data
from archfit.io import load_tensors
from archfit.run.artifacts import save_model
from archfit.space import create_space

ROOT = Path(__file__).resolve().parents[1]


def torchrun(processes: int, *args: str) -> None:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}", *args]
    result = subprocess.run(command, env=env, cwd=str(ROOT), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]


def test_two_processes_match_one_process_exactly_without_batchnorm(tmp_path):
    for n in (1, 2):
        torchrun(n, str(ROOT / "tests" / "ddp_worker.py"), str(tmp_path / f"p{n}.safetensors"))
    one, two = load_tensors(tmp_path / "p1.safetensors"), load_tensors(tmp_path / "p2.safetensors")
    assert float(one["loss"]) < 1.0  # it learned
    for key in one:
        scale = float(one[key].abs().max()) + 1e-12
        assert float((one[key] - two[key]).abs().max()) / scale < 1e-4, key


def test_searched_model_trains_on_two_processes_like_on_one(tmp_path):
    data = load_data("digits")
    space = create_space("chain", input_shape=list(data.input_shape), num_classes=data.num_classes, max_depth=1)
    arch = space.sample(np.random.default_rng(3))
    save_model(tmp_path / "run", space, arch, space.build(arch))  # a run folder as archfit search leaves it
    for n in (1, 2):
        torchrun(n, "-m", "archfit.train.ddp", str(tmp_path / "run"), "--epochs", "3", "--out", str(tmp_path / f"p{n}"))
    one, two = (json.loads((tmp_path / f"p{n}" / "arch.json").read_text()) for n in (1, 2))
    assert one["key"] == two["key"] == arch.key and two["ddp"]["processes"] == 2
    assert one["metrics"]["valid_acc"] > 0.8
    assert abs(one["metrics"]["valid_acc"] - two["metrics"]["valid_acc"]) <= 0.05
    loss1, loss2 = one["metrics"]["final_train_loss"], two["metrics"]["final_train_loss"]
    assert abs(loss1 - loss2) / loss1 < 0.25
