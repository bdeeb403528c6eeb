"""Differentiable search as a method of the job: ``archfit search --estimator darts|pcdarts|gdas|...``.

Each differentiable variant (``archfit/differentiable/``) is registered here under its own name, so the
job treats it like any other method: ``run`` trains a supernet with the variant's bilevel loop (checkpoint
per epoch in the run folder, so ``--resume`` continues it) and returns the derived arch; ``finalize`` is the
default policy (train the derived arch from scratch for ``--final-epochs``, measure it). Search epochs are
``--epochs``; ProxylessNAS takes its latency budget from ``--max-latency-ms``. A derived arch outside the
budget is refused in one line (only ProxylessNAS searches under a budget); ProxylessNAS's own final measurement
of the derived net (same runtime, clock, threads) is its latency, so a second median on a loaded machine
cannot contradict it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import ClassVar

from archfit.cost.latency import Latency
from archfit.differentiable.method import METHODS, method_class
from archfit.errors import ArchfitError
from archfit.method import register_method
from archfit.method.base import Method, MethodContext, Outcome

FOLDER = "differentiable"  # checkpoints, alpha.png and cell.png inside the run folder


class DifferentiableMethod(Method):
    """One differentiable variant; ``variant`` names it in ``archfit.differentiable``."""

    family = "differentiable"
    variant: ClassVar[str] = ""

    def prepare(self, ctx: MethodContext) -> None:
        from archfit.differentiable.api import searched_spaces

        if ctx.space.name not in searched_spaces(self.variant):  # refused before the run folder exists
            raise ArchfitError(f"--estimator {self.variant} searches space {' or '.join(searched_spaces(self.variant))}"
                               f", not {ctx.space.name!r}")
        if method_class(self.variant).latency_budget and ctx.budget.max_latency_ms is None:
            raise ArchfitError(f"--estimator {self.variant} needs --max-latency-ms (its latency loss and final check)")

    def run(self, ctx: MethodContext) -> Outcome:
        from archfit.differentiable import DiffSettings, differentiable_search

        config = ctx.config
        params = {}
        if method_class(self.variant).latency_budget:
            params = {"latency_ms": float(ctx.budget.max_latency_ms), "runtime": config.latency_runtime,
                      "threads": config.threads, "clock": config.latency_clock}
        settings = DiffSettings(epochs=config.epochs, batch_size=config.batch_size, seed=config.seed,
                                arch_lr=config.arch_lr or DiffSettings.arch_lr, method_params=params)

        def progress(report: dict) -> None:
            if ctx.progress:
                print(f"\r{self.variant}: epoch {report['epoch']}/{report['epochs']} step {report['step']}/"
                      f"{report['steps']} loss {report['loss']:.3f} eta {report['eta_s']:.0f}s", end="",
                      file=sys.stderr, flush=True)

        outcome = differentiable_search(ctx.space, ctx.data, self.variant, settings, ctx.out / FOLDER, ctx.resume,
                                        progress)
        if ctx.progress:
            print(file=sys.stderr)
        arch = ctx.space.canonical(outcome.arch)
        measured = outcome.extras.get("latency") or {}
        if "measured_p90_ms" in measured:  # proxyless timed the derived net (this runtime, clock, threads): that decides
            ctx.cost.remember(arch, Latency(measured["measured_ms"], measured["measured_p90_ms"], measured["threads"],
                                            1, measured["measured_repeats"], config.latency_runtime,
                                            config.latency_clock))
        cost = ctx.cost(arch)
        reasons = ctx.budget.violations(cost)
        if reasons:
            raise ArchfitError(f"{self.variant} derived an arch outside the budget ({'; '.join(reasons)}); "
                               "differentiable variants other than proxyless do not search under a budget")
        extras = {"differentiable": {"method": self.variant, "wall_s": outcome.wall_s, "folder": FOLDER,
                                     "arch_lr": settings.arch_lr,
                                     **{k: v for k, v in outcome.extras.items() if isinstance(v, (str, int, float))}}}
        return Outcome.of_arch(ctx, arch, {"valid_acc": float(outcome.extras.get("supernet_valid_acc", 0.0))},
                               f"differentiable search ({self.variant}), derived arch", extras)

    def keep_folder(self, out: Path) -> bool:
        return (out / FOLDER).exists()  # per-epoch checkpoints are worth resuming


for _name in METHODS:  # one registered method per variant, e.g. create_method("pcdarts")
    register_method(_name)(type(f"Differentiable_{_name}", (DifferentiableMethod,), {"variant": _name}))
