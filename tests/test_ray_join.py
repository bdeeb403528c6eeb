"""Joining a Ray cluster someone else started: ``--executor ray:auto`` (RAY_ADDRESS) and ``ray://``.

The test starts a real head itself with ``ray start`` on loopback with token auth (as docs/scale.md tells
a user to), in its own process session, runs ``archfit search`` against it, checks that the cluster did
the work and is still alive afterwards, and at the end kills only that session's processes.
"""

from __future__ import annotations

import importlib.util
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

pytest.importorskip("ray", reason="Ray is not installed (pip install 'archfit[ray]')")

from nb201_fixtures import ROOT, write_table  # noqa: E402

from archfit.estimate.tabular import TabularEstimator  # noqa: E402
from archfit.space import create_space  # noqa: E402
from archfit.space.base import Arch  # noqa: E402

RAY_CLI = Path(sys.executable).parent / "ray"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def group_members(pgid: int) -> dict[int, str]:
    """Live (non-zombie) processes in process group ``pgid``: pid → command line."""
    members = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members[int(stat.parent.name)] = cmdline
    return members


def answers(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def ray_head():
    """A head started with ``ray start`` in a new session, with a Ray Client server on ``client_port``;
    yields (port, token, session pgid, temp dir, client_port)."""
    if not RAY_CLI.exists():
        pytest.skip(f"no ray command beside {sys.executable}")
    port, token, client_port = free_port(), secrets.token_hex(32), free_port()
    temp = Path(tempfile.mkdtemp(prefix="afray-", dir="/tmp"))  # short: Ray's socket paths must fit 107 bytes
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=token, RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
    start = subprocess.Popen(
        [str(RAY_CLI), "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
         "--ray-client-server-port", str(client_port), "--temp-dir", str(temp), "--include-dashboard", "false", "--disable-usage-stats"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    pgid = start.pid  # every daemon ray start forks stays in this new session / process group
    try:
        output, _ = start.communicate(timeout=60)
        if start.returncode != 0:
            pytest.fail(f"ray start failed ({start.returncode}):\n{output[-2000:]}")
        yield port, token, pgid, temp, client_port
    finally:
        if start.poll() is None:
            start.kill()
        try:
            os.killpg(pgid, signal.SIGKILL)  # only the session this fixture started; never `ray stop`
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + 10
        while group_members(pgid) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not group_members(pgid), f"Ray processes left running: {group_members(pgid)}"
        shutil.rmtree(temp, ignore_errors=True)


def logs(temp: Path, prefix: str) -> int:
    return len(list((temp / "session_latest" / "logs").glob(f"{prefix}*")))


def archfit(args: list[str], env_extra: dict[str, str], timeout: float = 360) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", **env_extra)
    return subprocess.run([sys.executable, "-m", "archfit", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def test_search_through_ray_auto_uses_the_cluster_and_leaves_it_running(ray_head, tmp_path):
    port, token, pgid, temp, _ = ray_head
    table = write_table(tmp_path / "table.csv")
    drivers, workers = logs(temp, "python-core-driver-"), logs(temp, "python-core-worker-")
    out = tmp_path / "run"
    # No RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER here: archfit itself must keep a loopback address on loopback.
    result = archfit(["search", "--space", "nb201", "--estimator", "tabular", "--table", str(table),
                      "--strategy", "random", "--trials", "8", "--executor", "ray:auto", "--out", str(out),
                      "--no-progress", "--quiet"],
                     {"RAY_ADDRESS": f"127.0.0.1:{port}", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["executor"] == "ray:auto" and results["n_trials"] == 8
    estimator = TabularEstimator(create_space("nb201"), table)
    trials = results["trials"]
    assert len({json.dumps(t["arch"], sort_keys=True) for t in trials}) == 8
    for trial in trials:  # every number came back from the cluster unchanged
        assert trial["metrics"] == estimator.estimate(Arch(trial["arch"])).metrics
    assert results["best"]["metrics"]["cifar10_test_acc"] == max(t["metrics"]["cifar10_test_acc"] for t in trials)
    assert logs(temp, "python-core-driver-") > drivers and logs(temp, "python-core-worker-") > workers  # ran there
    members = group_members(pgid)
    assert any("gcs_server" in cmd for cmd in members.values()) and any("raylet" in cmd for cmd in members.values())
    assert answers(port)  # archfit left the cluster it joined running


def client_search(table: Path, out: Path, client_port: int, token: str) -> subprocess.CompletedProcess:
    return archfit(["search", "--space", "nb201", "--estimator", "tabular", "--table", str(table), "--strategy",
                    "random", "--trials", "6", "--executor", f"ray://127.0.0.1:{client_port}", "--out", str(out),
                    "--no-progress", "--quiet"], {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token})


@pytest.mark.skipif(importlib.util.find_spec("grpc") is None, reason="Ray Client needs grpcio (archfit[ray])")
def test_search_through_ray_client_address(ray_head, tmp_path):
    port, token, pgid, temp, client_port = ray_head
    table = write_table(tmp_path / "t.csv")
    workers = logs(temp, "python-core-worker-")
    result = client_search(table, tmp_path / "run", client_port, token)
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["n_trials"] == 6 and results["config"]["executor"] == f"ray://127.0.0.1:{client_port}"
    estimator = TabularEstimator(create_space("nb201"), table)
    for trial in results["trials"]:
        assert trial["metrics"] == estimator.estimate(Arch(trial["arch"])).metrics
    assert logs(temp, "python-core-worker-") > workers  # the cluster's workers did the work
    assert answers(port) and answers(client_port)  # left running


def test_ray_client_without_grpcio_is_one_clear_line(ray_head, tmp_path, monkeypatch):
    from archfit.errors import ArchfitError
    from archfit.run import ray_cluster

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "grpc" else real(name, *a))
    with pytest.raises(ArchfitError, match=r"Ray Client \(ray://\) needs grpcio.*ray\[client\]"):
        ray_cluster.require_ray_client(f"ray://127.0.0.1:{ray_head[4]}")


def test_ray_auto_with_nothing_listening_is_one_clear_error(monkeypatch):
    from archfit.errors import ArchfitError
    from archfit.run.ray_cluster import join_cluster

    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{free_port()}")
    with pytest.raises(ArchfitError, match=r"executor 'ray:auto': nothing answers at 127\.0\.0\.1:\d+"):
        join_cluster("auto")  # refused in a moment, not after Ray's minute of connection retries
