"""Executors and the asynchronous orchestrator: specs, determinism, replay after a crash, dead workers."""

from __future__ import annotations

import pytest
from scale_helpers import Crash, DieOnceEstimator, chain_space, run_search

from archfit.errors import ArchfitError
from archfit.estimate.synthetic import SyntheticTableEstimator
from archfit.run.executors import ExecutorSpec, create_executor, parse_executor
from archfit.run.store import Store
from archfit.run.trial import TrialState


def keys(trials):
    return [(t.number, t.arch.key) for t in trials]


@pytest.mark.parametrize("spec, expected", [
    ("local", ExecutorSpec("local", 1)),
    ("processes:3", ExecutorSpec("processes", 3)),
    ("processes:2,ordered", ExecutorSpec("processes", 2, ordered=True)),
    ("ray:2", ExecutorSpec("ray", 2)),
    ("ray:auto", ExecutorSpec("ray", None, "auto")),
    ("ray://10.0.0.5:10001,ordered", ExecutorSpec("ray", None, "ray://10.0.0.5:10001", True)),
])
def test_parse_executor_accepts(spec, expected):
    assert parse_executor(spec) == expected


@pytest.mark.parametrize("spec", ["", "processes", "processes:0", "processes:-1", "processes:2.5", "ray:0",
                                  "ray://host", "ray://host:99999", "ray://:80", "thread:2", "local,fast"])
def test_parse_executor_rejects_with_one_line(spec):
    with pytest.raises(ArchfitError) as info:
        parse_executor(spec)
    assert "\n" not in str(info.value) and repr(spec) in str(info.value)


def test_local_resume_after_crash_equals_uninterrupted(tmp_path):
    reference = run_search(tmp_path / "ref.sqlite", "local", 14)
    for crash_after in (1, 6, 13):
        path = tmp_path / f"crash{crash_after}.sqlite"
        with pytest.raises(Crash):
            run_search(path, "local", 14, crash_after=crash_after)
        resumed = run_search(path, "local", 14)
        assert keys(resumed) == keys(reference)
        assert [t.metrics for t in resumed] == [t.metrics for t in reference]
        assert run_search.last.stats.evaluated == 14 - crash_after and not run_search.last.stats.diverged


@pytest.fixture(scope="module")
def two_processes():
    executor = create_executor("processes:2", SyntheticTableEstimator(chain_space()))  # spawned once per module
    yield executor
    executor.close()


def test_two_workers_ordered_is_deterministic_and_resumes_exactly(tmp_path, two_processes):
    two_processes.ordered = True
    try:
        first = run_search(tmp_path / "a.sqlite", two_processes, 10)
        second = run_search(tmp_path / "b.sqlite", two_processes, 10)
        assert keys(first) == keys(second) and len({t.arch.key for t in first}) == 10
        with pytest.raises(Crash):
            run_search(tmp_path / "c.sqlite", two_processes, 10, crash_after=5)
        assert keys(run_search(tmp_path / "c.sqlite", two_processes, 10)) == keys(first)
    finally:
        two_processes.ordered = False


def test_async_resume_keeps_every_finished_trial_once(tmp_path, two_processes):
    path = tmp_path / "s.sqlite"
    with pytest.raises(Crash):
        run_search(path, two_processes, 10, crash_after=4)
    store = Store.open(path)
    before = [(t.number, t.arch.key, t.metrics) for t in store.trials() if t.state is TrialState.COMPLETE]
    store.close()
    after = run_search(path, two_processes, 10)
    assert len(before) >= 4 and not run_search.last.stats.diverged
    assert [(t.number, t.arch.key, t.metrics) for t in after][:len(before)] == before  # nothing re-run or lost
    assert len(after) == len({t.arch.key for t in after}) == 10
    assert all(t.state is TrialState.COMPLETE for t in after)


def test_killed_worker_process_has_its_trial_requeued(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    estimator = DieOnceEstimator(SyntheticTableEstimator(chain_space()), str(markers), victims=1)
    executor = create_executor("processes:1", estimator)
    try:
        trials = run_search(tmp_path / "s.sqlite", executor, 6, strategy="random")
    finally:
        executor.close()
    killed = {p.name for p in markers.iterdir()}
    assert len(killed) == 1 and executor.requeued >= 1 and executor.restarts == 1
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 6
    assert killed <= {t.arch.key for t in trials}  # the victims' trials were re-run, not dropped


def test_worker_that_always_dies_becomes_a_failed_trial(tmp_path):
    markers = tmp_path / "markers"
    markers.mkdir()
    estimator = DieOnceEstimator(SyntheticTableEstimator(chain_space()), str(markers), victims=10**6)
    executor = create_executor("processes:1", estimator)
    executor.max_retries = 1
    try:
        trials = run_search(tmp_path / "s.sqlite", executor, 1, strategy="random")
    finally:
        executor.close()
    assert [t.state for t in trials] == [TrialState.FAILED]
    assert all("WorkerLost" in t.error and "died 2 times" in t.error for t in trials)
