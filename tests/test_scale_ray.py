"""The Ray executor on a real, private Ray head: loopback only, token auth, dead actors re-queued."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'archfit[ray]')")

import scale_helpers  # noqa: E402
from scale_helpers import Crash, DieOnceEstimator, chain_space, run_search  # noqa: E402

from archfit.estimate.synthetic import SyntheticTableEstimator  # noqa: E402
from archfit.run.executors import create_executor  # noqa: E402
from archfit.run.ray_executor import RayExecutor  # noqa: E402
from archfit.run.trial import TrialState  # noqa: E402


LOOPBACK = {"0100007F", "0000000000000000FFFF00000100007F", "00000000000000000000000001000000"}


def listening(port: int) -> set[str]:
    """Local addresses (hex, as in /proc/net/tcp) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not os.path.exists(table):
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.add(address)
    return found


@pytest.fixture(scope="module")
def markers(tmp_path_factory):
    return tmp_path_factory.mktemp("markers")


@pytest.fixture(scope="module")
def ray_executor(markers):
    if ray.is_initialized():
        pytest.skip("this process is already connected to a Ray cluster")
    token_file = Path.home() / ".ray" / "auth_token"
    had_token_file = token_file.exists()
    ray.cloudpickle.register_pickle_by_value(scale_helpers)  # workers need not import the tests folder
    estimator = DieOnceEstimator(SyntheticTableEstimator(chain_space()), str(markers), victims=1)
    executor = RayExecutor(estimator, workers=2, head_cpus=4)  # 2 spare logical CPUs for a second executor
    yield executor
    executor.close()
    assert not ray.is_initialized()
    assert token_file.exists() == had_token_file  # the token went through the environment only


def test_private_head_is_loopback_only_with_token_auth(ray_executor):
    info = ray_executor.address_info
    host, port = info["gcs_address"].rsplit(":", 1)
    assert host == "127.0.0.1" and info["node_ip_address"] == "127.0.0.1"
    addresses = listening(int(port))
    assert addresses and addresses <= LOOPBACK  # 127.0.0.1 (v4 or v4-mapped v6), not 0.0.0.0 or the LAN IP
    assert os.environ["RAY_AUTH_MODE"] == "token" and len(os.environ["RAY_AUTH_TOKEN"]) >= 32
    assert ray_executor.owns_cluster and ray_executor.workers == 2


def test_search_through_ray_survives_a_killed_actor_and_a_driver_crash(tmp_path, ray_executor, markers):
    path = tmp_path / "s.sqlite"
    with pytest.raises(Crash):
        run_search(path, ray_executor, 8, crash_after=3)
    trials = run_search(path, ray_executor, 8)
    assert len(list(markers.iterdir())) == 1 and ray_executor.requeued >= 1  # one actor died mid-trial
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 8
    assert len({t.arch.key for t in trials}) == 8 and not run_search.last.stats.diverged
    local = {t.arch.key: t.metrics for t in run_search(tmp_path / "local.sqlite", "local", 8, strategy="random")}
    assert all(t.metrics == local[t.arch.key] for t in trials if t.arch.key in local)  # same numbers per arch


def test_failing_estimate_on_ray_is_a_failed_trial_not_a_crash(tmp_path, ray_executor):
    class Broken(SyntheticTableEstimator):
        def estimate(self, arch):
            raise ValueError(f"no entry for {arch.key}")

    executor = create_executor("ray:2", Broken(chain_space()))  # joins the running head; must not stop it
    try:
        trials = run_search(tmp_path / "s.sqlite", executor, 2, strategy="random")
    finally:
        executor.close()
    assert ray.is_initialized() and not executor.owns_cluster
    assert [t.state for t in trials] == [TrialState.FAILED] * 2
    assert all(t.error.startswith("ValueError: no entry for") for t in trials)
