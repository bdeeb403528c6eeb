"""The ``archfit search`` job: validate everything, then prepare → method → finalize, write one result.

The job never branches on the kind of method: the method registered under ``--estimator`` owns its
search and its finalize policy (``archfit/method/``); the job owns the run folder, the store, the
executor and the black-box loop it lends to methods (``MethodContext.search``), and the outputs.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

from archfit import __version__
from archfit.config import SearchConfig
from archfit.cost import CostModel
from archfit.cost.budget import Budget
from archfit.data import DataModule, load_data
from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, read_json
from archfit.method import Method, MethodContext, create_method
from archfit.run.artifacts import save_model
from archfit.run.executors import create_executor, parse_executor
from archfit.run.result import SearchResult, build_result
from archfit.run.search import Search
from archfit.run.store import Store
from archfit.space import create_space
from archfit.space.base import Space
from archfit.strategy import create_strategy
from archfit.trial import Trial, TrialState
from archfit.units import format_quantity

STORE_FILE = "store.sqlite"
RESULTS_FILE = "results.json"


def has_store(out: Path) -> bool:
    """Whether ``out`` holds a search job's trial store, i.e. a killed run there resumes (``resume=True``)."""
    return (out / STORE_FILE).is_file()


def finished_results(out: Path) -> dict | None:
    """The results of the search job in ``out`` if it finished, else None (a benchmark resuming its runs)."""
    return read_json(out / RESULTS_FILE, "a finished search") if (out / RESULTS_FILE).is_file() else None


def prepare_space(config: SearchConfig, data: DataModule | None) -> Space:
    """The configured space, fitted to the data's sample shape and class count (its own shape without data)."""
    if data is None:
        return create_space(config.space, **config.space_args)
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
        + (f", {cheapest.latency_ms:.3g} ms" if cheapest.latency_ms is not None else "")
        + "".join(f", {name} {format_quantity(value)}" for name, value in cheapest.extra.items()))


def cost_lookups(config: SearchConfig, space: Space) -> dict[str, Any]:
    """Metrics the run reads from tables: ``device_latency_ms`` from ``--latency-table``/``--device`` (a bad
    table or device name fails here, before the run folder has anything in it)."""
    if config.latency_table is None:
        return {}
    from archfit.predict.latency_table import DeviceLatencyTable

    return {"device_latency_ms": DeviceLatencyTable(config.latency_table, config.device, space)}


def check_plugins(config: SearchConfig, method: Method) -> None:
    """Names of plug-ins in the settings, looked up in their registries before anything runs (settings are data:
    ``SearchConfig`` checks values, the job checks that the named executor, sampler... exist)."""
    executor = parse_executor(config.executor)  # a malformed --executor (nothing is started here)
    if executor.address and executor.address.startswith("ray://"):
        from archfit.run.ray_cluster import require_ray_client

        require_ray_client(executor.address)  # Ray Client missing: say so before data or tables are loaded
    method.check_settings(config)  # e.g. the supernet's sampling rule


def make_folder(out: Path) -> Path | None:
    """Create ``out`` (and missing parents); the topmost folder created, to remove on failure, or None if
    ``out`` existed. A folder that cannot be created is one ``ArchfitError``."""
    if out.is_dir():
        return None
    top = out
    while not top.parent.exists() and top.parent != top:
        top = top.parent
    try:
        out.mkdir(parents=True)
    except OSError as exc:
        raise ArchfitError(f"--out {out}: cannot create the run folder ({exc.strerror or exc})") from None
    return top


def stored_settings(out: Path) -> dict[str, Any] | None:
    """The settings a run folder was started with, or None when it has no store yet (a fresh start)."""
    if not (out / STORE_FILE).exists():
        return None
    store = Store.open(out / STORE_FILE)
    try:
        return store.meta().get("config", {})
    finally:
        store.close()


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
    """``archfit search`` as a function: the content of ``results.json``."""
    return search_job(config, out, resume, progress).to_dict()


def search_job(config: SearchConfig, out: Path, resume: bool = False, progress: bool = True) -> SearchResult:
    """Validate, search with the method ``config.estimator`` names, finalize, write ``out``; the typed result."""
    start = time.perf_counter()
    method = create_method(config.estimator, search=True)
    check_plugins(config, method)
    existing = open_run(out, config, resume)
    made = make_folder(out) if existing is None else None  # a root we cannot create fails here, in one line
    try:
        torch.set_num_threads(config.threads)
        data = load_data(config.data, config.image_size, config.train_subset) if method.needs_data else None
        space = prepare_space(config, data)
        budget = config.budget()
        strategy = create_strategy(config.strategy)
        cost = CostModel(space, with_latency=budget.needs_latency, threads=config.threads,
                         runtime=config.latency_runtime, extra=budget.extra_metrics, lookups=cost_lookups(config, space),
                         clock=config.latency_clock)
        check_budget_reachable(space, budget, cost)
        ctx = MethodContext(config, space, data, budget, cost, out, resume, config.seed, progress,
                            log=(lambda text: print(text, flush=True)) if progress else (lambda text: None))
        method.prepare(ctx)  # a bad table (or any bad input a method finds) fails before work starts
        created = existing is None
        store = existing if existing is not None else Store.create(
            out / STORE_FILE, {"config": config.to_dict(), "space": space.spec(), "archfit_version": __version__})
    except BaseException:
        if existing is not None:
            existing.close()
        if made is not None:  # nothing was done: remove the folders this run created
            shutil.rmtree(made, ignore_errors=True)
        raise
    ctx.search = lambda estimator: _search(config, space, strategy, store, budget, cost, estimator, progress)
    try:
        outcome = method.run(ctx)
        search_seconds = time.perf_counter() - start
        final = method.finalize(ctx, outcome)
        if final.model is not None:
            save_model(out, space, outcome.best.arch, final.model,
                       {"data": data.name if data else None, "metrics": final.metrics, "cost": final.cost.to_dict()})
    except BaseException:
        store.close()
        if created and not any(t.state is TrialState.COMPLETE for t in _safe_trials(out)) \
                and not method.keep_folder(out):
            shutil.rmtree(made or out, ignore_errors=True)  # nothing worth resuming: leave nothing half-written
        raise
    store.close()
    timing = {"search_seconds": search_seconds, "final_seconds": final.seconds,
              "total_seconds": time.perf_counter() - start}
    result = build_result(method, ctx, outcome, final, timing)
    results = result.to_dict()
    atomic_write_json(out / RESULTS_FILE, results)
    method.write_report(results, out)
    return result


def _safe_trials(out: Path) -> list[Trial]:
    try:
        store = Store.open(out / STORE_FILE)
        try:
            return store.trials()
        finally:
            store.close()
    except ArchfitError:
        return []


def _search(config, space, strategy, store, budget, cost, estimator, progress) -> list[Trial]:
    """The black-box loop (a ``MethodContext.search`` service): ``config.trials`` trials of ``estimator``."""
    from archfit.report.terminal import progress_bar

    metric = estimator.metric
    executor = create_executor(config.executor, estimator)  # may fail to join a cluster: nothing left behind
    try:
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

            search = Search(space, strategy, executor, store, budget, cost, metric, config.trials, config.seed,
                            on_trial)
            trials = search.run()
            bar.update(task, completed=config.trials)
    finally:
        executor.close()
    store.set_meta("stats", {"rejected": search.stats.rejected, "duplicates": search.stats.duplicates,
                             "replayed": search.stats.replayed, "exhausted": search.stats.exhausted})
    return trials
