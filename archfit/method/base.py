"""A search method: ``prepare → run → finalize`` over one context, the plug-in interface of every family.

The job (``archfit.run.job``) builds a ``MethodContext`` (space, data, budget, cost model, settings, run
folder, resume flag, progress, seed, and the black-box search loop as a service), asks the method
registered under ``--estimator`` to ``prepare`` (before the run folder exists: refuse bad input without
leaving anything), ``run`` (returns an ``Outcome``: the chosen trial and the trials behind it) and
``finalize`` (returns a ``Final``: the model, its metrics and measured cost, or a table's value). The job
never branches on the kind of method; it writes one result type for all of them (``run/result.py``).

A differentiable method does not call ``ctx.search``: it runs its own loop and returns
``Outcome.of_arch(ctx, arch, metrics, extras)``. See docs/extending.md.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import torch
from torch import nn

from archfit.cost.budget import Budget, Cost
from archfit.cost.flops import count_flops, count_params
from archfit.cost.latency import CLOCK_TEXT, RUNTIME_TEXT, measure_latency
from archfit.cost.layers import layer_costs
from archfit.cost.model import CostModel, measure_extra
from archfit.data.base import DataModule
from archfit.errors import ArchfitError
from archfit.estimate.base import Estimator
from archfit.space.base import Arch, Space
from archfit.train import accuracy, train
from archfit.trial import Trial, TrialState, choose_best

ACCURACY_UNIT = "fraction in [0, 1]"


@dataclass
class MethodContext:
    """What a method may use. ``config`` is the run's ``SearchConfig`` (settings are data)."""

    config: Any
    space: Space
    data: DataModule | None  # None for methods with ``needs_data = False`` (a table fixes the data)
    budget: Budget
    cost: CostModel  # ``cost(arch) -> Cost``, cached; latency when the budget bounds it
    out: Path  # the run folder (exists from ``run`` on; a method may keep checkpoints there)
    resume: bool
    seed: int
    progress: bool = True
    log: Callable[[str], None] = print  # progress lines (silent when progress is off)
    # The black-box loop (strategy from the settings, store, executor, progress bar): trials of ``estimator``.
    search: Callable[[Estimator], list[Trial]] | None = None
    # What a slim method starts from: the slim job's ``compress.pipeline.Context`` (the given model, trained
    # and measured, its width space and budget); None for search methods.
    subject: Any = None


@dataclass(frozen=True)
class Outcome:
    """What ``run`` found: the chosen trial, every trial behind it, and keys the report gains."""

    best: Trial
    trials: list[Trial]
    metric: str  # the search score (maximised), a key of ``best.metrics``
    estimator: str  # how candidates were scored, in words (results.json "estimator")
    extras: dict[str, Any] = field(default_factory=dict)  # more top-level keys of results.json
    selection: str | None = None  # how ``best`` was picked, in words

    @classmethod
    def of_trials(cls, trials: list[Trial], estimator: Estimator, extras: dict[str, Any] | None = None,
                  cost_metric: str = "flops") -> Outcome:
        """The best completed trial (``choose_best``: ties by cost, as the estimator asks), or one error line."""
        complete = [t for t in trials if t.state is TrialState.COMPLETE]
        if not complete:
            errors = {t.error for t in trials if t.error}
            raise ArchfitError(f"no trial completed ({len(trials)} failed: {sorted(errors)[:1]})")
        best = choose_best(complete, estimator.metric, cost_metric, estimator.larger_on_tie)
        selection = (f"highest search {estimator.metric}; equal scores: the "
                     f"{'costlier' if estimator.larger_on_tie else 'cheaper'} in {cost_metric}, then the earlier trial")
        return cls(best, trials, estimator.metric, estimator.describe(), extras or {}, selection)

    @classmethod
    def of_arch(cls, ctx: MethodContext, arch: Arch, metrics: dict[str, float], estimator: str,
                extras: dict[str, Any] | None = None, metric: str = "valid_acc") -> Outcome:
        """One chosen arch (a method without trials, e.g. differentiable search): recorded as trial 0."""
        trial = Trial(0, ctx.space.canonical(arch), TrialState.COMPLETE, ctx.cost(arch), dict(metrics))
        return cls(trial, [trial], metric, estimator, extras or {}, f"the arch {estimator} returned")


@dataclass(frozen=True)
class Final:
    """The chosen arch made real: metrics, measured cost, and the model (None when nothing was trained)."""

    metrics: dict[str, float]
    cost: Cost
    model: nn.Module | None = None
    training: dict[str, Any] | None = None  # results.json best.final_training (None: nothing trained)
    details: dict[str, Any] = field(default_factory=dict)  # more keys of results.json "best"
    units: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0


class Method(ABC):
    """A registered search method. Constructors take no arguments; settings come from ``ctx.config``."""

    name: ClassVar[str] = ""
    family: ClassVar[str] = ""  # black-box | one-shot | differentiable | slim (slim: archfit slim runs it)
    needs_data: ClassVar[bool] = True

    def check_settings(self, config: Any) -> None:
        """Check the plug-in names this method reads from the settings (e.g. a sampling rule), before any data
        or table is loaded; one ``ArchfitError`` line for a bad one."""

    def prepare(self, ctx: MethodContext) -> None:
        """Check inputs and load what may fail, before the run folder exists (nothing is left behind)."""

    @abstractmethod
    def run(self, ctx: MethodContext) -> Outcome:
        """Search; the run folder and store exist now."""

    def finalize(self, ctx: MethodContext, outcome: Outcome) -> Final:
        """Default policy: train the chosen arch from scratch for ``final_epochs``, measure it."""
        start = time.perf_counter()
        return measured_final(ctx, outcome, train_from_scratch(ctx, outcome.best.arch), "train", start)

    def keep_folder(self, out: Path) -> bool:
        """Whether a failed fresh run leaves something worth resuming in ``out`` (besides completed trials)."""
        return False

    def data_info(self, ctx: MethodContext) -> dict[str, Any]:
        data = ctx.data
        if data is None:
            return {}
        return {"name": data.name, "input_shape": list(data.input_shape), "num_classes": data.num_classes,
                "sizes": {"train": len(data.train), "valid": len(data.valid), "test": len(data.test)}}

    def metric_floor(self, values: list[float]) -> float:
        """The hypervolume's reference score: 0 for accuracies (fractions)."""
        return 0.0

    def write_report(self, results: dict[str, Any], out: Path) -> Path:
        from archfit.report.search_report import write_search_report

        return write_search_report(results, out)

    def print_summary(self, results: dict[str, Any], out: str) -> None:
        from archfit.report.terminal import print_summary

        print_summary(results, out)


def train_from_scratch(ctx: MethodContext, arch: Arch) -> nn.Module:
    """A fresh network of ``arch`` (seeded) trained ``final_epochs`` on the training split."""
    torch.manual_seed(ctx.config.seed)
    model = ctx.space.build(arch)
    if ctx.config.final_epochs:
        train(model, ctx.data.train, ctx.config.train_config(ctx.config.final_epochs))
    return model


def measured_final(ctx: MethodContext, outcome: Outcome, model: nn.Module, mode: str, start: float) -> Final:
    """Accuracy on valid and test (the test split is used only here), cost measured on the real model."""
    config, shape = ctx.config, ctx.space.input_shape
    latency = measure_latency(model, shape, threads=config.threads, runtime=config.latency_runtime,
                              clock=config.latency_clock)
    extra = measure_extra(ctx.budget.extra_metrics, model, ctx.space, outcome.best.arch, ctx.cost.lookups)
    cost = Cost(count_flops(model, shape), count_params(model), latency.median_ms, latency.p90_ms, latency.threads,
                latency.runtime, extra)
    metrics = {"valid_acc": accuracy(model, ctx.data.valid), "test_acc": accuracy(model, ctx.data.test),
               "search_valid_acc": outcome.best.metrics[outcome.metric]}
    units = {"flops": "FLOPs = 2 x MACs of one batch-1 forward pass (torch FlopCounterMode: conv, linear, "
                      "matmul; element-wise ops not counted)",
             "latency_ms": f"median and p90 of {latency.repeats} batch-1 forward passes on this CPU after "
                           f"warm-up, {latency.threads} threads, {RUNTIME_TEXT[latency.runtime]}, "
                           f"{CLOCK_TEXT[latency.clock]}",
             "accuracy": ACCURACY_UNIT}
    seconds = time.perf_counter() - start
    return Final(metrics, cost, model, {"epochs": config.final_epochs, "seconds": seconds, "mode": mode},
                 {"selection": outcome.selection, "layers": [layer.to_dict() for layer in layer_costs(model, shape)]},
                 units, seconds)
