"""Differentiable search through the job: ``archfit search --method darts`` finalizes like every search."""

from __future__ import annotations

import json
import subprocess
import sys

TINY = ["--space", "nb201", "--space-args", '{"channels": 4, "cells": 1}', "--epochs", "1", "--final-epochs", "1",
        "--max-flops", "100M"]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "archfit", "search", *args], capture_output=True, text=True,
                          timeout=600)


def test_search_method_darts_trains_measures_and_reports(tmp_path):
    out = tmp_path / "run"
    proc = run(*TINY, "--method", "darts", "--arch-lr", "0.01", "--out", str(out))
    assert proc.returncode == 0, proc.stderr[-2000:]
    results = json.loads((out / "results.json").read_text())
    assert results["differentiable"]["method"] == "darts"
    assert results["differentiable"]["arch_lr"] == 0.01  # the flag reaches the bilevel loop
    assert 0 <= results["best"]["metrics"]["test_acc"] <= 1 and results["best"]["cost"]["flops"] > 0
    assert (out / "model.safetensors").exists() and (out / "differentiable" / "alpha.png").exists()
    report = (out / "report.html").read_text()
    assert "architecture weights per edge" in report and "the derived cell" in report


def test_differentiable_method_refuses_the_wrong_space_and_leaves_nothing(tmp_path):
    out = tmp_path / "run"
    proc = run("--method", "pcdarts", "--space", "chain", "--out", str(out))
    assert proc.returncode == 2 and "searches space nb201" in proc.stderr
    assert proc.stderr.strip().count("\n") == 0 and not out.exists()
    proc = run("--method", "darts", "--arch-lr", "0", "--out", str(out))
    assert proc.returncode == 2 and "--arch-lr 0.0 must be in (0, 1]" in proc.stderr and not out.exists()
    proc = run("--method", "proxyless", "--space", "chain", "--out", str(out))
    assert proc.returncode == 2 and "--max-latency-ms" in proc.stderr and not out.exists()
