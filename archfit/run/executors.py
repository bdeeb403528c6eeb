"""Where estimates run. Workers only compute and return; the driver alone writes the store.

``local`` runs each estimate in this process; ``processes:N`` in N spawned worker processes, each
given the estimator once at start-up (one intra-op thread each, so N workers share the cores).
"""

from __future__ import annotations

import multiprocessing
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait

import torch

from archfit.errors import ArchfitError
from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch


class Executor(ABC):
    workers: int = 1

    @abstractmethod
    def submit(self, arch: Arch) -> Future[Estimate]: ...

    def wait_any(self, futures: set[Future]) -> set[Future]:
        """Block until at least one future is done; return the done ones."""
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return done

    def close(self) -> None:
        """Release workers (idempotent)."""


class LocalExecutor(Executor):
    """Evaluates in this process at submit time: deterministic, no pickling, no overhead."""

    def __init__(self, estimator: Estimator) -> None:
        self.estimator = estimator

    def submit(self, arch: Arch) -> Future[Estimate]:
        future: Future[Estimate] = Future()
        try:
            future.set_result(self.estimator.estimate(arch))
        except Exception as exc:  # reported as a FAILED trial by the orchestrator
            future.set_exception(exc)
        return future


_WORKER_ESTIMATOR: Estimator | None = None


def _init_worker(estimator: Estimator, threads: int) -> None:
    global _WORKER_ESTIMATOR
    torch.set_num_threads(threads)
    _WORKER_ESTIMATOR = estimator


def _estimate_in_worker(arch_json: str) -> Estimate:
    assert _WORKER_ESTIMATOR is not None
    return _WORKER_ESTIMATOR.estimate(Arch.from_json(arch_json))


class ProcessExecutor(Executor):
    """N spawned processes (spawn, not fork: safe with torch's thread pools)."""

    def __init__(self, estimator: Estimator, workers: int, threads_per_worker: int = 1) -> None:
        self.workers = workers
        self._pool = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_init_worker, initargs=(estimator, threads_per_worker))

    def submit(self, arch: Arch) -> Future[Estimate]:
        return self._pool.submit(_estimate_in_worker, arch.to_json())

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)


def create_executor(spec: str, estimator: Estimator) -> Executor:
    """``local`` | ``processes:N``."""
    if spec == "local":
        return LocalExecutor(estimator)
    if spec.startswith("processes:"):
        count = spec.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise ArchfitError(f"executor {spec!r}: expected processes:N with N a positive whole number")
        return ProcessExecutor(estimator, int(count))
    raise ArchfitError(f"unknown executor {spec!r}; expected 'local' or 'processes:N'")
