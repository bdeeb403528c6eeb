"""Where estimates run. Workers only compute and return; the driver alone writes the store.

``local`` runs each estimate in this process; ``processes:N`` in N spawned worker processes, each
given the estimator once at start-up (one intra-op thread each, so N workers share the cores);
``ray``, ``ray:N``, ``ray:auto`` and ``ray://HOST:PORT`` on a Ray cluster (``archfit.run.ray_executor``).
Any spec may end in ``,ordered``: results are then told to the strategy in submission order, which makes
an adaptive strategy's trials independent of completion timing (at the cost of idle workers while the
oldest trial finishes). Without it, results are told as they complete (fully asynchronous).

A worker that dies mid-trial (killed, out of memory) loses nothing: its trial is re-queued on a fresh
worker up to ``max_retries`` times, then recorded as FAILED with the reason.
"""

from __future__ import annotations

import multiprocessing
from abc import ABC, abstractmethod
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import torch

from archfit.errors import ArchfitError
from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch

MAX_RETRIES = 2  # re-queues of one trial whose worker died, before it counts as FAILED


class WorkerLost(RuntimeError):
    """A trial's worker died ``MAX_RETRIES + 1`` times: recorded as a FAILED trial, never silently dropped."""


class Executor(ABC):
    workers: int = 1
    ordered: bool = False  # tell results in submission order (see the module docstring)
    requeued: int = 0  # trials re-submitted after their worker died

    @abstractmethod
    def submit(self, arch: Arch) -> Future[Estimate]: ...

    def wait_any(self, futures: set[Future]) -> set[Future]:
        """Block until at least one of ``futures`` is done; return the done ones."""
        done, _ = wait(futures, return_when=FIRST_COMPLETED)
        return done

    def discard(self, futures: set[Future]) -> None:
        """Forget in-flight estimates nobody will wait for (the driver stopped); their workers become free."""

    def close(self) -> None:
        """Release workers (idempotent)."""

    def describe(self) -> str:
        return f"{type(self).__name__}({self.workers} workers{', ordered' if self.ordered else ''})"


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


@dataclass
class _Attempt:
    inner: Future  # the pool's future for the current attempt
    arch_json: str
    tries: int = 0


class ProcessExecutor(Executor):
    """N spawned processes (spawn, not fork: safe with torch's thread pools); a broken pool is rebuilt."""

    def __init__(self, estimator: Estimator, workers: int, threads_per_worker: int = 1,
                 max_retries: int = MAX_RETRIES) -> None:
        self.workers = workers
        self.max_retries = max_retries
        self.restarts = 0  # pools rebuilt after a worker died
        self._init = (estimator, threads_per_worker)
        self._pool = self._new_pool()
        self._attempts: dict[Future, _Attempt] = {}  # outer future (the Search's) -> current attempt

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_init_worker, initargs=self._init)

    def _submit_inner(self, arch_json: str) -> Future:
        try:
            return self._pool.submit(_estimate_in_worker, arch_json)
        except BrokenProcessPool:  # a worker died: every in-flight attempt of the old pool is re-queued
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            self.restarts += 1
            return self._pool.submit(_estimate_in_worker, arch_json)

    def submit(self, arch: Arch) -> Future[Estimate]:
        outer: Future[Estimate] = Future()
        outer.set_running_or_notify_cancel()
        arch_json = arch.to_json()
        self._attempts[outer] = _Attempt(self._submit_inner(arch_json), arch_json)
        return outer

    def wait_any(self, futures: set[Future]) -> set[Future]:
        while True:
            done = {f for f in futures if f.done()}
            if done:
                return done
            inner = {self._attempts[f].inner: f for f in futures}
            finished, _ = wait(inner, return_when=FIRST_COMPLETED)
            for future in finished:
                self._settle(inner[future])

    def _settle(self, outer: Future) -> None:
        attempt = self._attempts[outer]
        exc = attempt.inner.exception()
        if isinstance(exc, BrokenProcessPool):
            if attempt.tries < self.max_retries:
                attempt.tries += 1
                self.requeued += 1
                attempt.inner = self._submit_inner(attempt.arch_json)
                return
            exc = WorkerLost(f"worker process died {attempt.tries + 1} times while evaluating this arch")
        del self._attempts[outer]
        if exc is not None:
            outer.set_exception(exc)
        else:
            outer.set_result(attempt.inner.result())

    def discard(self, futures: set[Future]) -> None:
        for future in futures:
            attempt = self._attempts.pop(future, None)
            if attempt is not None:
                attempt.inner.cancel()  # cancels it if still queued; a running one finishes unseen

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._attempts.clear()


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor`` value: kind (local | processes | ray), workers, Ray address, ordering."""

    kind: str
    workers: int | None = None  # None: as many as the Ray cluster has CPUs
    address: str | None = None  # Ray: None starts a private head on 127.0.0.1; "auto" or "ray://HOST:PORT" join
    ordered: bool = False


_FORMS = "'local', 'processes:N', 'ray', 'ray:N', 'ray:auto' or 'ray://HOST:PORT', optionally followed by ',ordered'"


def parse_executor(spec: str) -> ExecutorSpec:
    """Validate an ``--executor`` value without starting anything."""
    if not isinstance(spec, str):
        raise ArchfitError(f"executor {spec!r}: expected {_FORMS}")
    text, ordered = spec.strip(), False
    if text.endswith(",ordered"):
        text, ordered = text[: -len(",ordered")], True
    if text == "local":
        return ExecutorSpec("local", 1, ordered=ordered)
    if text.startswith("processes:"):
        return ExecutorSpec("processes", _count(spec, text.split(":", 1)[1]), ordered=ordered)
    if text == "ray":
        return ExecutorSpec("ray", multiprocessing.cpu_count(), ordered=ordered)
    if text == "ray:auto":
        return ExecutorSpec("ray", None, "auto", ordered)
    if text.startswith("ray://"):
        host, _, port = text[len("ray://"):].rpartition(":")
        if not host or not port.isdecimal() or not 0 < int(port) < 65536:
            raise ArchfitError(f"executor {spec!r}: expected ray://HOST:PORT with PORT in 1..65535")
        return ExecutorSpec("ray", None, text, ordered)
    if text.startswith("ray:"):
        return ExecutorSpec("ray", _count(spec, text.split(":", 1)[1]), ordered=ordered)
    raise ArchfitError(f"unknown executor {spec!r}; expected {_FORMS}")


def _count(spec: str, text: str) -> int:
    if not text.isdecimal() or not 1 <= int(text) <= 1024:
        raise ArchfitError(f"executor {spec!r}: the worker count must be a whole number in 1..1024")
    return int(text)


def create_executor(spec: str, estimator: Estimator) -> Executor:
    """An executor for ``spec`` (see ``parse_executor``); Ray is imported only when asked for."""
    parsed = parse_executor(spec)
    executor: Executor
    if parsed.kind == "local":
        executor = LocalExecutor(estimator)
    elif parsed.kind == "processes":
        executor = ProcessExecutor(estimator, parsed.workers or 1)
    else:
        from archfit.run.ray_executor import RayExecutor

        executor = RayExecutor(estimator, parsed.address, parsed.workers)
    executor.ordered = parsed.ordered
    return executor
