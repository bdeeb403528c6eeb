"""The Python API: ``archfit.search(...)`` and ``archfit.slim(...)`` return typed results holding real modules.

    import archfit
    result = archfit.search(space="chain", data="digits", budget={"flops": "1M"}, trials=6, epochs=2, seed=0)
    result.best.arch, result.best.metrics["test_acc"], result.best.cost.flops, result.model

No database to set up: a search runs in a temporary run folder (removed afterwards) unless ``out`` names
one to keep (then ``archfit search --out DIR --resume`` can continue it). The command line is a thin
layer over the same job (``archfit.run.job.search_job``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torch import nn

from archfit.config import SearchConfig
from archfit.errors import ArchfitError
from archfit.run.result import SearchResult

# budget keys (metric names) → SearchConfig fields; a new metric adds one entry (and a flag)
SEARCH_BUDGET = {"flops": "max_flops", "params": "max_params", "latency_ms": "max_latency_ms",
                 "size_bytes": "max_size"}
SLIM_BUDGET = {"flops": "max_flops", "params": "max_params", "latency_ms": "max_latency_ms"}


def _budget_fields(budget: dict[str, Any] | None, known: dict[str, str]) -> dict[str, str]:
    if budget is None:
        return {}
    if not isinstance(budget, dict):
        raise ArchfitError(f"budget {budget!r} must be a mapping like {{'flops': '1M'}}; metrics: {sorted(known)}")
    unknown = sorted(set(budget) - set(known))
    if unknown:
        raise ArchfitError(f"budget metric {unknown[0]!r} is not one of {sorted(known)}")
    return {known[metric]: str(bound) for metric, bound in budget.items() if bound is not None}


def search(space: str = "chain", data: str = "digits", budget: dict[str, Any] | None = None, *,
           trials: int = 24, epochs: int = 6, final_epochs: int | None = None, strategy: str = "evolution",
           seed: int = 0, method: str = "train", space_args: dict[str, Any] | None = None,
           out: str | Path | None = None, resume: bool = False, progress: bool = False,
           **settings: Any) -> SearchResult:
    """Search ``space`` on ``data`` under ``budget`` (metric → bound in human units, e.g. ``{"flops": "1M"}``).

    ``method`` is a registered method (``train``, ``tabular``, ``supernet``, ...); any other ``SearchConfig``
    field (``lr``, ``executor``, ``table``...) may be given by name. ``final_epochs`` defaults to the
    command's default (40). Returns the ``SearchResult``: ``best`` (arch, metrics, cost), ``model``,
    ``trials``, ``pareto``; ``to_dict()`` is what ``results.json`` holds.
    """
    from archfit.run.job import search_job

    fields = {"space": space, "data": data, "trials": trials, "epochs": epochs, "strategy": strategy,
              "seed": seed, "estimator": method, "space_args": dict(space_args or {}),
              **_budget_fields(budget, SEARCH_BUDGET), **settings}
    if final_epochs is not None:
        fields["final_epochs"] = final_epochs
    try:
        config = SearchConfig(**fields)
    except TypeError as exc:  # an unknown keyword: the caller's input
        raise ArchfitError(f"search: {exc}") from None
    if out is not None:
        return search_job(config, Path(out), resume=resume, progress=progress)
    with tempfile.TemporaryDirectory(prefix="archfit-") as folder:
        return search_job(config, Path(folder) / "run", progress=progress)


@dataclass(frozen=True)
class SlimResult:
    """The slimmed model and its measurements (FLOPs = 2 x MACs at batch 1, latency ms, test accuracy)."""

    model: nn.Module
    before: dict[str, float]
    after: dict[str, float]
    widths: dict[str, int]  # channel group → kept channels
    budget_text: str
    details: dict[str, Any] = field(default_factory=dict)  # method-specific (search history, pruning ratio)


def slim(model: nn.Module, data: str = "digits", budget: dict[str, Any] | None = None, *, method: str = "width",
         pretrain_epochs: int = 0, log: Any = None, **settings: Any) -> SlimResult:
    """``model`` made physically narrower to fit ``budget`` (absolute like ``"20M"`` or relative like ``"50%"``).

    The model should be trained on ``data`` (or give ``pretrain_epochs``); it is put in eval mode and left
    otherwise unchanged: a slimmed copy is returned. Settings are ``SlimConfig`` fields (``evaluations``,
    ``supernet_epochs``, ``finetune_epochs``, ``ratios``, ...). Runs the pipeline of ``archfit slim``.
    """
    from archfit.compress.pipeline import Context, SlimConfig, _space, check_budget, measure, run_method
    from archfit.cost import CostModel
    from archfit.data import load_data
    from archfit.train import TrainConfig, train

    if not isinstance(model, nn.Module):
        raise ArchfitError(f"slim: model {type(model).__name__} is not a torch.nn.Module")
    fields = _budget_fields(budget, SLIM_BUDGET)
    if not fields:
        raise ArchfitError(f"slim: give a budget, e.g. {{'flops': '50%'}}; metrics: {sorted(SLIM_BUDGET)}")
    try:
        config = SlimConfig(model=type(model).__name__, data=data, methods=(method,), **fields, **settings)
    except TypeError as exc:
        raise ArchfitError(f"slim: {exc}") from None
    quiet = log or (lambda text: None)
    loaded = load_data(data, config.image_size, config.train_subset)
    if pretrain_epochs:
        train(model, loaded.train, TrainConfig(epochs=pretrain_epochs, lr=config.lr, batch_size=config.batch_size,
                                               seed=config.seed))
    model.eval()
    space = _space(config, model, loaded)
    space.check()  # a model whose channel coupling cannot be slimmed is refused before any work
    before = measure(model, loaded, config.latency_threads, config.latency_runtime)
    ctx = Context(config, loaded, model, {}, before, space, CostModel(space))
    budget_ = check_budget(ctx)
    entry = run_method(ctx, method, quiet)
    small = entry.pop("model")
    return SlimResult(small, entry.pop("before"), entry.pop("after"), entry.pop("widths"), budget_.describe(), entry)


__all__ = ["SearchResult", "SlimResult", "search", "slim"]
