"""The supernet branch of ``archfit search``: train once (checkpointed in the run folder), score every
candidate by inherited weights, then train the chosen arch from scratch or fine-tune its inherited weights."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archfit.cost.budget import Budget
from archfit.cost.model import CostModel
from archfit.data.base import DataModule
from archfit.errors import ArchfitError
from archfit.estimate.supernet import SupernetEstimator
from archfit.io import atomic_write_bytes, load_tensors
from archfit.space.base import Arch, Space
from archfit.supernet.sampler import Sampler, create_sampler
from archfit.supernet.supernet import Supernet
from archfit.supernet.training import CHECKPOINT, Replicas, SupernetStats, require_sampler, train_supernet
from archfit.train import TrainConfig, train

FINETUNE_LR_FACTOR = 0.1  # fine-tuning inherited weights starts from a good point: a tenth of the peak LR


def within_budget(space: Space, budget: Budget,
                  lookups: Mapping[str, Callable[[Arch], float]] | None = None) -> tuple[Callable[[Arch], bool] | None, str]:
    """``(feasible, in words)`` for budget-aware supernet paths: the budget's bounds that cost no build or timing
    (FLOPs, parameters, device-table lookups). ``(None, "")`` when none is bounded (e.g. CPU latency only)."""
    cheap = {m: b for m, b in budget.bounds.items() if m in ("flops", "params") or m in (lookups or {})}
    if not cheap:
        return None, ""
    extra = [m for m in cheap if m not in ("flops", "params")]
    cost = CostModel(space, extra=extra, lookups={m: lookups[m] for m in extra} if extra else None)
    bounds = Budget(bounds=cheap)
    return (lambda arch: bounds.fits(cost(arch))), bounds.describe()


def train_run_supernet(config, space: Space, data: DataModule, checkpoint: Path, progress: bool = True,
                       replicas: Replicas | None = None,
                       feasible: tuple[Callable[[Arch], bool] | None, str] = (None, "")) -> tuple[Supernet, Sampler, SupernetStats]:
    """Train (or resume from ``checkpoint``) the supernet a run's settings describe; one process or DDP.
    ``feasible`` (from ``within_budget``) restricts the random paths when ``config.supernet_paths`` is "budget"."""
    sampler = create_sampler(config.sampler)
    if config.supernet_paths == "budget":
        sampler.restrict(*feasible)
    torch.manual_seed(config.seed)  # every DDP rank builds the same initial weights
    supernet = Supernet(space, sampler.max_level)
    train_config = config.train_config(config.supernet_epochs)

    def report(epoch: int, loss: float) -> None:
        if progress:
            print(f"supernet {sampler.name}: epoch {epoch + 1}/{config.supernet_epochs}, mean loss per path {loss:.4f}",
                  flush=True)

    if replicas is not None:
        supernet.to(replicas.device)
    stats = train_supernet(supernet, sampler, data.train, train_config, checkpoint, on_epoch=report, replicas=replicas)
    return supernet, sampler, stats


def import_checkpoint(source: str, target: Path, sampler: str) -> None:
    """Copy a supernet trained elsewhere (``--supernet``, e.g. by ``archfit.supernet.ddp``) into the run folder;
    refused if it names a sampling rule other than the run's ``sampler``."""
    tensors = load_tensors(Path(source))  # weights-only; a foreign file fails here, in one line
    if "meta.epoch" not in tensors:
        raise ArchfitError(f"--supernet {source} is not an archfit supernet checkpoint (no meta.epoch)")
    require_sampler(tensors, sampler, f"--supernet {source}")
    atomic_write_bytes(target, Path(source).read_bytes())


def supernet_estimator(config, space: Space, data: DataModule, out: Path, progress: bool = True,
                       feasible: tuple[Callable[[Arch], bool] | None, str] = (None, "")
                       ) -> tuple[SupernetEstimator, dict[str, Any]]:
    """Train (or resume, or reload) the run's supernet in ``out/supernet.safetensors``; its estimator and a summary."""
    if config.supernet and not (out / CHECKPOINT).exists():
        import_checkpoint(config.supernet, out / CHECKPOINT, config.sampler)
    supernet, sampler, stats = train_run_supernet(config, space, data, out / CHECKPOINT, progress, feasible=feasible)
    summary = {"sampler": sampler.describe(), "paths": config.supernet_paths, "paths_within": sampler.restriction or None,
               "epochs": config.supernet_epochs, "resumed_from_epoch": stats.resumed_from,
               "train_seconds": stats.seconds, "paths_trained": stats.paths, "final_loss": stats.final_loss,
               "checkpoint": CHECKPOINT, "imported_from": config.supernet}
    return SupernetEstimator(supernet, data, seed=config.seed, label=sampler.name), summary


def final_model(config, space: Space, data: DataModule, arch: Arch, estimator: SupernetEstimator | None) -> nn.Module:
    """``--final train``: a fresh network trained ``final_epochs``; ``finetune``: inherited weights fine-tuned."""
    if config.final == "finetune" and estimator is not None:
        model = estimator.inherit(arch).train()
        if config.final_epochs:
            tuned = TrainConfig(**{**config.train_config(config.final_epochs).__dict__, "lr": config.lr * FINETUNE_LR_FACTOR})
            train(model, data.train, tuned)
        return model
    torch.manual_seed(config.seed)
    model = space.build(arch)
    if config.final_epochs:
        train(model, data.train, config.train_config(config.final_epochs))
    return model


def describe_final(config) -> str:
    if config.final == "finetune" and config.estimator == "supernet":
        return f"fine-tuned from inherited supernet weights, {config.final_epochs} epochs at {FINETUNE_LR_FACTOR} x lr"
    return f"trained from scratch, {config.final_epochs} epochs"


