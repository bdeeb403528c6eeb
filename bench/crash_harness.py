"""SIGKILL a real ``archfit search`` driver at random moments, resume it each time, compare with a clean run.

    python bench/crash_harness.py --kills 20 --out crash.json

Checks after every kill that the store opens cleanly and holds each arch at most once, and at the end
that the resumed run's trials (numbers, archs, metrics) and chosen model equal an uninterrupted run's
with the same seed. Each driver runs with one torch thread (OMP_NUM_THREADS=1) so numbers are exact.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archfit.io import atomic_write_json  # noqa: E402
from archfit.run.store import Store  # noqa: E402

TINY = ["--epochs", "1", "--final-epochs", "1", "--space-args", '{"max_depth": 1}']  # plus --trials N


def launch(out: Path, args: list[str], resume: bool) -> subprocess.Popen:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "archfit", "search", *args, "--out", str(out), "--no-progress", "--quiet"]
    return subprocess.Popen(command + (["--resume"] if resume else []), env=env, cwd=str(ROOT),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)


def finish(process: subprocess.Popen) -> None:
    _, err = process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"archfit search exited {process.returncode}: {err.decode()[-500:]}")


def check_store(out: Path) -> int:
    """Complete trials in the store; raises if it is damaged or holds an arch twice."""
    path = out / "store.sqlite"
    if not path.exists():
        return 0
    store = Store.open(path)
    try:
        trials = store.trials()
    finally:
        store.close()
    keys = [t.arch.key for t in trials]
    if len(keys) != len(set(keys)):
        raise AssertionError(f"{path}: an arch is stored twice")
    return sum(t.state.value == "complete" for t in trials)


def progress(out: Path) -> int:
    """Finished trials in the store, read without locking the driver out (0 before it exists)."""
    path = out / "store.sqlite"
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=1)
        try:
            return db.execute("SELECT count(*) FROM trials WHERE state != 'running'").fetchone()[0]
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def summary(out: Path) -> dict:
    results = json.loads((out / "results.json").read_text())
    return {"best": [results["best"]["key"], results["best"]["metrics"]],
            "trials": [[t["number"], t["key"], t["state"], t["metrics"]] for t in results["trials"]]}


def harness(work: Path, kills: int, seed: int = 0, args: list[str] | None = None) -> dict:
    """Run clean once, then kill/resume ``kills`` times at random moments; return what was seen."""
    args = args or TINY
    rng = random.Random(seed)
    start = time.perf_counter()
    finish(launch(work / "clean", args, resume=False))
    clean_seconds = time.perf_counter() - start
    out, log = work / "killed", []
    trials = int(args[args.index("--trials") + 1])
    while len(log) < kills:
        process = launch(out, args, resume=out.exists())
        began = time.perf_counter()
        if rng.random() < 0.8:  # most kills aimed at the search: after 0 or 1 new results
            target = min(trials, progress(out) + rng.randint(0, 1))
            while process.poll() is None and progress(out) < target and time.perf_counter() - began < clean_seconds:
                time.sleep(0.05)
            pause = rng.uniform(0.0, clean_seconds / trials)  # within about one trial's time
        else:  # the rest at any moment of the first half: start-up, replay, the search (later kills reach
            pause = rng.uniform(0.3, clean_seconds / 2)  # final training and writing once the search is done)
        try:
            process.wait(timeout=pause)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
            log.append({"after_s": round(time.perf_counter() - began, 2), "complete_trials": check_store(out)})
            continue
        if process.returncode != 0:
            raise RuntimeError(f"resumed run failed: {process.stderr.read().decode()[-500:]}")
        log.append({"after_s": round(time.perf_counter() - began, 2), "complete_trials": check_store(out),
                    "finished": True})
        for path in (out / "results.json", out / "report.html"):
            path.unlink(missing_ok=True)  # finished before the kill: keep killing a fresh resume
    finish(launch(out, args, resume=True))
    same = summary(out) == summary(work / "clean")
    return {"kills": log, "clean_run_seconds": clean_seconds, "equal_to_clean_run": same,
            "complete_trials": check_store(out), "leftover_files": sorted(p.name for p in out.iterdir())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--trials", type=int, default=40,
                        help="trials of the search; enough that most kills land while it is running")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "crash_harness.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="archfit-crash-") as tmp:
        result = harness(Path(tmp), args.kills, args.seed, ["--trials", str(args.trials), *TINY])
    for i, kill in enumerate(result["kills"], 1):
        print(f"kill {i:2d} after {kill['after_s']:6.2f} s: {kill['complete_trials']} complete trials in the store"
              + (" (run had finished)" if kill.get("finished") else ""))
    mid = sum(k["complete_trials"] < args.trials for k in result["kills"])
    result["kills_mid_search"] = mid
    print(f"{mid} of {len(result['kills'])} kills landed before the search had all its results")
    print(f"final store: {result['complete_trials']} complete trials, each once; "
          f"equal to the uninterrupted run: {result['equal_to_clean_run']}")
    atomic_write_json(args.out, result)
    if not result["equal_to_clean_run"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
