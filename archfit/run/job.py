"""The ``archfit search`` job: validate everything, search, train the chosen arch, write outputs."""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archfit import __version__
from archfit.config import SearchConfig
from archfit.cost import CostModel, count_flops, count_params, measure_latency
from archfit.cost.budget import Budget, Cost
from archfit.cost.latency import RUNTIME_TEXT
from archfit.cost.layers import layer_costs
from archfit.data import DataModule, load_data
from archfit.errors import ArchfitError
from archfit.estimate import TrainEstimator
from archfit.io import atomic_write_json
from archfit.metrics import hypervolume_2d, pareto_front
from archfit.run.artifacts import save_model
from archfit.run.executors import create_executor
from archfit.run.search import Search
from archfit.run.store import Store
from archfit.run.trial import Trial, TrialState, choose_best
from archfit.space import create_space
from archfit.space.base import Space
from archfit.strategy import create_strategy
from archfit.train import accuracy, train
from archfit.units import format_quantity

STORE_FILE = "store.sqlite"


def prepare_space(config: SearchConfig, data: DataModule) -> Space:
    """The configured space, fitted to the data's sample shape and class count."""
    args = {"input_shape": list(data.input_shape), "num_classes": data.num_classes, **config.space_args}
    return create_space(config.space, **args)


def check_budget_reachable(space: Space, budget: Budget, cost: CostModel) -> None:
    """Refuse, before any training, a budget that no architecture of the space can meet."""
    smallest = space.smallest()
    rng = np.random.default_rng(0)
    candidates = [smallest] if smallest is not None else [space.sample(rng) for _ in range(256)]
    if any(budget.fits(cost(arch)) for arch in candidates):
        return
    cheapest = min((cost(arch) for arch in candidates), key=lambda c: c.value(budget.primary))
    raise ArchfitError(
        f"budget {budget.describe()} is impossible in space {space.name!r}: its cheapest architecture needs "
        f"{format_quantity(cheapest.flops)} FLOPs, {format_quantity(cheapest.params)} params"
        + (f", {cheapest.latency_ms:.3g} ms" if cheapest.latency_ms is not None else ""))


def open_run(out: Path, config: SearchConfig, resume: bool) -> Store | None:
    """The existing store when resuming (its config must match), else None after checking ``out`` is free."""
    if resume and out.is_dir() and not (out / STORE_FILE).exists() and all(
            p.name.startswith(f".{STORE_FILE}.partial") for p in out.iterdir()):
        return None  # killed before its store was complete: nothing to resume, so the run starts afresh
    if resume:
        store = Store.open(out / STORE_FILE)
        stored = SearchConfig.from_dict(store.meta().get("config", {}))
        diff = stored.differences(config)
        if diff:
            store.close()
            raise ArchfitError(f"--resume {out}: settings differ from the stored run ({'; '.join(diff)})")
        return store
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise ArchfitError(f"run folder {out} exists and is not empty; pass --resume to continue it or choose another --out")
    return None


def run_search(config: SearchConfig, out: Path, resume: bool = False, progress: bool = True) -> dict[str, Any]:
    start = time.perf_counter()
    existing = open_run(out, config, resume)
    torch.set_num_threads(config.threads)
    tabular = config.estimator == "tabular"
    if tabular:  # the table fixes the data: the space keeps its own (standard) input shape
        data, space = None, create_space(config.space, **config.space_args)
    else:
        data = load_data(config.data, config.image_size)
        space = prepare_space(config, data)
    budget = config.budget()
    strategy = create_strategy(config.strategy)
    cost = CostModel(space, with_latency=budget.needs_latency, threads=config.threads,
                     runtime=config.latency_runtime)
    check_budget_reachable(space, budget, cost)
    if tabular:  # built before the run folder exists: a bad table leaves nothing behind
        from archfit.estimate.tabular import TabularEstimator

        estimator = TabularEstimator(space, config.table, config.column)
    created = existing is None
    if created:
        out.mkdir(parents=True, exist_ok=True)
        store = Store.create(out / STORE_FILE, {"config": config.to_dict(), "space": space.spec(),
                                                "archfit_version": __version__})
    else:
        store = existing
    supernet_info = None
    try:
        if config.estimator == "supernet":
            from archfit.supernet.search import supernet_estimator

            estimator, supernet_info = supernet_estimator(config, space, data, out, progress)
        elif not tabular:
            estimator = TrainEstimator(space, data, config.train_config(config.epochs))
        executor = create_executor(config.executor, estimator)  # may fail to join a cluster: nothing left behind
    except BaseException:
        store.close()
        if created and not (out / "supernet.safetensors").exists():  # a checkpoint is worth resuming
            shutil.rmtree(out, ignore_errors=True)
        raise
    try:
        trials = _search(config, space, strategy, executor, store, budget, cost, estimator.metric, progress)
        search_seconds = time.perf_counter() - start
        if tabular:
            from archfit.run.tabular import finish_tabular

            results = finish_tabular(config, space, budget, trials, estimator)
        else:
            results = _finish(config, data, space, budget, trials, out, estimator.describe(),
                              estimator if supernet_info else None, estimator.larger_on_tie)
        if supernet_info:
            results["supernet"] = supernet_info
    except BaseException:
        executor.close()
        store.close()
        if created and not any(t.state is TrialState.COMPLETE for t in _safe_trials(out)) \
                and not (out / "supernet.safetensors").exists():
            shutil.rmtree(out, ignore_errors=True)  # nothing worth resuming: leave nothing half-written
        raise
    executor.close()
    store.close()
    results["timing"] = {"search_seconds": search_seconds, "final_seconds": results.pop("_final_seconds"),
                         "total_seconds": time.perf_counter() - start}
    atomic_write_json(out / "results.json", results)
    from archfit.report.search_report import write_search_report
    from archfit.run.tabular import write_tabular_report

    (write_tabular_report if tabular else write_search_report)(results, out)
    return results


def _safe_trials(out: Path) -> list[Trial]:
    try:
        store = Store.open(out / STORE_FILE)
        try:
            return store.trials()
        finally:
            store.close()
    except ArchfitError:
        return []


def _search(config, space, strategy, executor, store, budget, cost, metric, progress) -> list[Trial]:
    from archfit.report.terminal import progress_bar

    with progress_bar(progress) as bar:
        task = bar.add_task(f"search {config.space}/{config.strategy}", total=config.trials, status="")
        best = [float("-inf")]
        # finished trials already in the store (a resume replays them without calling on_trial)
        finished = [sum(t.state is not TrialState.RUNNING for t in store.trials())]

        def on_trial(trial: Trial) -> None:
            value = trial.value(metric)
            if value is not None:
                best[0] = max(best[0], value)
            finished[0] += 1
            bar.update(task, completed=min(finished[0], config.trials), status=f"best {metric} {best[0]:.4f}")

        search = Search(space, strategy, executor, store, budget, cost, metric, config.trials, config.seed, on_trial)
        trials = search.run()
        bar.update(task, completed=config.trials)
    store.set_meta("stats", {"rejected": search.stats.rejected, "duplicates": search.stats.duplicates,
                             "replayed": search.stats.replayed, "exhausted": search.stats.exhausted})
    return trials


def _finish(config: SearchConfig, data: DataModule, space: Space, budget: Budget, trials: list[Trial], out: Path,
            estimator_text: str, supernet_estimator=None, larger_on_tie: bool = False) -> dict[str, Any]:
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    if not complete:
        errors = {t.error for t in trials if t.error}
        raise ArchfitError(f"no trial completed ({len(trials)} failed: {sorted(errors)[:1]})")
    metric, cost_metric = "valid_acc", budget.primary
    best = choose_best(complete, metric, cost_metric, larger_on_tie)
    final_start = time.perf_counter()
    if supernet_estimator is not None:
        from archfit.supernet.search import final_model

        model = final_model(config, space, data, best.arch, supernet_estimator)
    else:
        torch.manual_seed(config.seed)
        model = space.build(best.arch)
        if config.final_epochs:
            train(model, data.train, config.train_config(config.final_epochs))
    latency = measure_latency(model, space.input_shape, threads=config.threads, runtime=config.latency_runtime)
    final_cost = Cost(count_flops(model, space.input_shape), count_params(model), latency.median_ms,
                      latency.p90_ms, latency.threads, latency.runtime)
    metrics = {"valid_acc": accuracy(model, data.valid), "test_acc": accuracy(model, data.test),
               "search_valid_acc": best.metrics[metric]}
    save_model(out, space, best.arch, model, {"data": data.name, "metrics": metrics, "cost": final_cost.to_dict()})
    final_seconds = time.perf_counter() - final_start
    values = [t.metrics[metric] for t in complete]
    costs = [t.cost.value(cost_metric) for t in complete]
    front = pareto_front(values, costs)
    ref_cost = budget.bound(cost_metric) or max(costs) * 1.1
    return {
        "archfit_version": __version__,
        "command": "search",
        "config": config.to_dict(),
        "data": {"name": data.name, "input_shape": list(data.input_shape), "num_classes": data.num_classes,
                 "sizes": {"train": len(data.train), "valid": len(data.valid), "test": len(data.test)}},
        "space": space.spec(),
        "space_size": space.size(),
        "strategy": config.strategy,
        "estimator": estimator_text,
        "budget": budget.to_dict(),
        "budget_text": budget.describe(),
        "best": {"trial": best.number, "arch": dict(best.arch), "key": best.arch.key, "metrics": metrics,
                 "cost": final_cost.to_dict(),
                 "selection": f"highest search {metric}; equal scores: the {'costlier' if larger_on_tie else 'cheaper'} "
                              f"in {cost_metric}, then the earlier trial",
                 "final_training": {"epochs": config.final_epochs, "seconds": final_seconds,
                                    "mode": config.final if supernet_estimator is not None else "train"},
                 "layers": [layer.to_dict() for layer in layer_costs(model, space.input_shape)]},
        "pareto": [{"trial": complete[i].number, "arch": dict(complete[i].arch), metric: values[i],
                    "flops": complete[i].cost.flops, "params": complete[i].cost.params} for i in front],
        "hypervolume": {"value": hypervolume_2d(values, costs, 0.0, ref_cost), "metric": metric,
                        "cost_metric": cost_metric, "reference": {metric: 0.0, cost_metric: ref_cost}},
        "n_trials": len(complete),
        "n_failed": sum(t.state is TrialState.FAILED for t in trials),
        "trials": [t.to_dict() for t in trials],
        "units": {"flops": "FLOPs = 2 x MACs of one batch-1 forward pass (torch FlopCounterMode: conv, linear, "
                           "matmul; element-wise ops not counted)",
                  "latency_ms": f"median and p90 of {latency.repeats} batch-1 forward passes on this CPU after "
                                f"warm-up, {latency.threads} threads, {RUNTIME_TEXT[latency.runtime]}",
                  "accuracy": "fraction in [0, 1]"},
        "_final_seconds": final_seconds,
    }
