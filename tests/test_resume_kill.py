"""SIGKILL a real ``archfit search`` mid-run, resume it, and check no completed trial is lost or doubled."""

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import TINY_SPACE_ARGS

ROOT = Path(__file__).resolve().parents[1]


def command(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "archfit", "search", "--trials", "6", "--epochs", "2", "--final-epochs", "1",
            "--space-args", json.dumps(TINY_SPACE_ARGS), "--strategy", "evolution", "--seed", "3",
            "--out", str(out), "--no-progress", "--quiet", *extra]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}


def completed(out: Path) -> list[tuple[int, str, str]]:
    db = sqlite3.connect(out / "store.sqlite")
    try:
        return db.execute("SELECT number, key, metrics FROM trials WHERE state = 'complete' ORDER BY number").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def test_sigkill_mid_run_then_resume(tmp_path):
    killed = tmp_path / "killed"
    proc = subprocess.Popen(command(killed), env=env(), stderr=subprocess.PIPE)
    deadline = time.time() + 120
    while time.time() < deadline and proc.poll() is None:
        if (killed / "store.sqlite").exists() and len(completed(killed)) >= 2:
            break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    before = completed(killed)
    assert 2 <= len(before) < 6

    resumed = subprocess.run(command(killed, "--resume"), env=env(), capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    after = completed(killed)
    assert len(after) == 6 and len({key for _, key, _ in after}) == 6
    assert set(before) <= set(after)  # same numbers, keys and metrics: nothing lost, nothing re-done

    reference = tmp_path / "reference"
    subprocess.run(command(reference), env=env(), check=True, capture_output=True, timeout=300)
    assert [(n, k) for n, k, _ in completed(reference)] == [(n, k) for n, k, _ in after]
    ref_best = json.loads((reference / "results.json").read_text())["best"]
    got_best = json.loads((killed / "results.json").read_text())["best"]
    assert ref_best["key"] == got_best["key"] and ref_best["metrics"] == got_best["metrics"]
