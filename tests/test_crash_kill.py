"""SIGKILL the real ``archfit search`` driver at random moments and resume: nothing lost, nothing twice,
the same result as an uninterrupted run (the 20-kill version is bench/crash_harness.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

from crash_harness import harness  # noqa: E402

FAST = ["--trials", "3", "--epochs", "1", "--final-epochs", "0", "--space-args", '{"max_depth": 1}',
        "--strategy", "random"]


def test_killed_driver_resumes_to_the_uninterrupted_result(tmp_path):
    result = harness(tmp_path, kills=2, seed=1, args=FAST)
    assert result["equal_to_clean_run"], result
    assert result["complete_trials"] == 3
    assert not [name for name in result["leftover_files"] if name.startswith(".")]  # no temporary files left
