"""Estimates on a Ray cluster: one actor per worker, each holding the estimator, fed one arch at a time.

Security, decided rather than left to Ray's defaults (observed with Ray 2.60; the code is in ``ray_cluster``):
- A private head (``--executor ray`` / ``ray:N``) listens on 127.0.0.1 only. Ray otherwise binds its GCS,
  raylet and object manager to the machine's external address, reachable from the network.
- Token authentication stays on, with a fresh random token per head passed to Ray's processes through
  the environment (``RAY_AUTH_MODE=token``, ``RAY_AUTH_TOKEN``): nothing is written to ``~/.ray``.
- Joining a cluster (``ray:auto``, ``ray://HOST:PORT``) uses the cluster's own settings and the caller's
  ``RAY_AUTH_TOKEN`` / ``~/.ray/auth_token``; archfit never shuts down a cluster it did not start.

Workers only compute: the driver records every result in the store. A dead actor (its process killed,
its node lost) is replaced and its trial re-queued, up to ``MAX_RETRIES`` times.
"""

from __future__ import annotations

import os
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from archfit.estimate.base import Estimate, Estimator
from archfit.run.executors import MAX_RETRIES, Executor, WorkerLost
from archfit.run.ray_cluster import import_ray, join_cluster, start_local_head
from archfit.space.base import Arch


class _Worker:
    """The actor body: the estimator is deserialised once per actor, not once per trial."""

    def __init__(self, estimator: Estimator, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.estimator = estimator

    def estimate(self, arch_json: str) -> Estimate:
        return self.estimator.estimate(Arch.from_json(arch_json))


@dataclass
class _Attempt:
    ref: Any  # ray.ObjectRef of the current attempt
    actor: Any
    arch_json: str
    tries: int = 0


class RayExecutor(Executor):
    """``address=None``: start and own a head on loopback; else join ``address`` ("auto" | "ray://HOST:PORT").

    Each worker is an actor holding one logical CPU for its lifetime; a private head has ``head_cpus``
    logical CPUs (default: one per worker).
    """

    def __init__(self, estimator: Estimator, address: str | None = None, workers: int | None = None,
                 threads_per_worker: int = 1, max_retries: int = MAX_RETRIES, head_cpus: int | None = None) -> None:
        ray = self._ray = import_ray()
        self.max_retries = max_retries
        self.owns_cluster = False
        if ray.is_initialized():
            pass  # the caller connected this process already: use that cluster, leave it running
        elif address is None:
            self.address_info = start_local_head(head_cpus or workers or os.cpu_count() or 1)
            self.owns_cluster = True
        else:
            join_cluster(address)
        self.workers = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        self._actor_class = ray.remote(num_cpus=1, max_restarts=0)(_Worker)
        self._estimator_ref = ray.put(estimator)
        self._threads = threads_per_worker
        self._free = [self._new_actor() for _ in range(self.workers)]
        self._attempts: dict[Future, _Attempt] = {}

    def _new_actor(self) -> Any:
        return self._actor_class.remote(self._estimator_ref, self._threads)

    def submit(self, arch: Arch) -> Future[Estimate]:
        outer: Future[Estimate] = Future()
        outer.set_running_or_notify_cancel()
        if self._free:
            actor = self._free.pop()
        else:  # more in flight than workers: queue behind the least busy actor (a new one might get no CPU)
            load: dict[int, list] = {}
            for attempt in self._attempts.values():
                load.setdefault(id(attempt.actor), [attempt.actor, 0])[1] += 1
            actor = min(load.values(), key=lambda pair: pair[1])[0]
        arch_json = arch.to_json()
        self._attempts[outer] = _Attempt(actor.estimate.remote(arch_json), actor, arch_json)
        return outer

    def wait_any(self, futures: set[Future]) -> set[Future]:
        while True:
            done = {f for f in futures if f.done()}
            if done:
                return done
            by_ref = {self._attempts[f].ref: f for f in futures}
            ready, _ = self._ray.wait(list(by_ref), num_returns=1)
            for ref in ready:
                self._settle(by_ref[ref])

    def _settle(self, outer: Future) -> None:
        ray, attempt = self._ray, self._attempts[outer]
        try:
            result = ray.get(attempt.ref)
        except (ray.exceptions.RayActorError, ray.exceptions.WorkerCrashedError,
                ray.exceptions.NodeDiedError) as exc:
            ray.kill(attempt.actor, no_restart=True)
            if attempt.tries < self.max_retries:
                attempt.tries += 1
                self.requeued += 1
                attempt.actor = self._new_actor()
                attempt.ref = attempt.actor.estimate.remote(attempt.arch_json)
                return
            del self._attempts[outer]
            self._free.append(self._new_actor())
            outer.set_exception(WorkerLost(f"Ray worker died {attempt.tries + 1} times ({type(exc).__name__})"))
            return
        except ray.exceptions.RayTaskError as exc:  # the estimate itself raised: a FAILED trial
            del self._attempts[outer]
            self._free.append(attempt.actor)
            cause = exc.cause if isinstance(getattr(exc, "cause", None), BaseException) else RuntimeError(str(exc))
            outer.set_exception(cause)
            return
        del self._attempts[outer]
        self._free.append(attempt.actor)
        outer.set_result(result)

    def discard(self, futures: set[Future]) -> None:
        for future in futures:
            attempt = self._attempts.pop(future, None)
            if attempt is not None:  # an actor runs one call at a time: the next one queues behind this
                self._free.append(attempt.actor)

    def close(self) -> None:
        ray = self._ray
        if not ray.is_initialized():
            return
        for actor in self._free + [a.actor for a in self._attempts.values()]:
            ray.kill(actor, no_restart=True)
        self._free, self._attempts = [], {}
        if self.owns_cluster:
            ray.shutdown()
            self.owns_cluster = False
