"""One training loop for every sampling rule; checkpointed atomically each epoch, resumable.

Per step: the rule names the paths to visit; each path runs forward and backward on the same batch
(``label`` paths on cross-entropy, ``distill`` paths on KL divergence to the step's teacher logits);
gradients accumulate and one SGD step updates the shared weights. After every epoch channels are
re-sorted by importance (when the rule allows it) and the checkpoint is written.

The same loop runs data-parallel (``archfit.supernet.ddp`` under torchrun) through a ``Replicas``
object: the rule sees the whole global batch on every rank (so every rank picks the same paths, as
one process would), each rank runs forward/backward on its share, and only one rank writes.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path as FilePath

import torch
import torch.nn.functional as F
from torch import nn

from archfit.data.base import Split
from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, load_tensors, read_json, save_tensors
from archfit.supernet.sampler import Sampler
from archfit.supernet.supernet import Supernet
from archfit.train.distill import distill_loss
from archfit.train.trainer import TrainConfig, cosine_lr, make_optimizer

CHECKPOINT = "supernet.safetensors"
TIMES_FILE = "train_seconds.json"  # wall seconds per checkpoint stem, beside the checkpoints


@dataclass(frozen=True)
class SupernetStats:
    epochs: int  # epochs trained in total (including those restored from a checkpoint)
    resumed_from: int  # epoch the run started at (0 = fresh)
    steps: int  # optimizer steps taken in this call
    paths: int  # sub-network forward/backward passes in this call
    final_loss: float  # mean loss per path over the last epoch
    seconds: float  # wall time of this call


class Replicas:
    """One process (this default): the whole batch, no communication. ``archfit.supernet.ddp`` overrides it."""

    world: int = 1
    writer: bool = True  # this process writes the checkpoint
    device = torch.device("cpu")

    def wrap(self, supernet: Supernet) -> nn.Module:
        """The module to call for the forward passes that are trained (a DDP wrapper when distributed)."""
        return supernet

    def place(self, batch: torch.Tensor) -> torch.Tensor:
        """A batch on this process's device."""
        return batch

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        """This process's part of a global batch."""
        return batch

    def mean(self, value: float) -> float:
        """Mean of ``value`` over processes."""
        return value

    def check_same_paths(self, digest: str) -> None:
        """Raise unless every process visited the paths hashed in ``digest``."""


def save_checkpoint(path: FilePath, supernet: Supernet, optimizer: torch.optim.Optimizer, epoch: int,
                    sampler: str | None = None) -> None:
    """Weights, momentum buffers, the finished epoch count and the sampling rule's name in one safetensors
    file, written atomically."""
    tensors = {f"model.{k}": v for k, v in supernet.state_dict().items()}
    for name, param in supernet.named_parameters():
        buffer = optimizer.state.get(param, {}).get("momentum_buffer")
        if buffer is not None:
            tensors[f"momentum.{name}"] = buffer
    tensors["meta.epoch"] = torch.tensor(epoch)
    if sampler is not None:  # safetensors holds tensors only: the name as its UTF-8 bytes
        tensors["meta.sampler"] = torch.tensor(list(sampler.encode()), dtype=torch.uint8)
    save_tensors(path, tensors)


def load_checkpoint(path: FilePath, supernet: Supernet, optimizer: torch.optim.Optimizer | None = None,
                    sampler: str | None = None) -> int:
    """Restore a checkpoint (weights-only load); returns the number of epochs it had finished.

    With ``sampler``, a checkpoint trained by another rule is refused (continuing it would mix two rules
    and label the result with the wrong one); checkpoints that name no rule are accepted."""
    tensors = load_tensors(path)
    if "meta.epoch" not in tensors:
        raise ArchfitError(f"{path} is not an archfit supernet checkpoint (no meta.epoch)")
    require_sampler(tensors, sampler, str(path))
    state = {k[6:]: v for k, v in tensors.items() if k.startswith("model.")}
    try:
        supernet.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        raise ArchfitError(f"{path} does not match this supernet ({str(exc).splitlines()[-1].strip()[:200]})") from None
    if optimizer is not None:
        params = dict(supernet.named_parameters())
        for key, value in tensors.items():
            if key.startswith("momentum.") and key[9:] in params:
                param = params[key[9:]]
                optimizer.state[param]["momentum_buffer"] = value.to(param.device, copy=True)
    return int(tensors["meta.epoch"])


def checkpoint_sampler(tensors: dict[str, torch.Tensor]) -> str | None:
    """The sampling rule a checkpoint's tensors name, or None (checkpoints written before it was stored)."""
    raw = tensors.get("meta.sampler")
    if raw is None:
        return None
    try:
        return bytes(raw.to(torch.uint8).tolist()).decode()
    except (UnicodeDecodeError, ValueError):
        raise ArchfitError("supernet checkpoint: meta.sampler is not a UTF-8 name") from None


def require_sampler(tensors: dict[str, torch.Tensor], sampler: str | None, source: str) -> None:
    """Refuse a checkpoint trained by a rule other than ``sampler`` (None, or a checkpoint naming no rule: accept)."""
    trained_by = checkpoint_sampler(tensors)
    if sampler is not None and trained_by is not None and trained_by != sampler:
        raise ArchfitError(f"{source} was trained with sampler {trained_by!r}, not {sampler!r}; "
                           f"pass --sampler {trained_by} to use it")


def record_seconds(times_file: FilePath, key: str, stats: SupernetStats) -> float:
    """Add this call's training seconds to ``key`` in ``times_file`` (a resumed run adds to what it had; a
    fresh one replaces it) and return the total; a call that trained nothing returns what is on record (NaN
    if nothing is). Re-read before writing: another process may have recorded its own key meanwhile."""
    times = read_json(times_file, "supernet training times") if times_file.exists() else {}
    if stats.steps:
        times[key] = (times.get(key, 0.0) if stats.resumed_from else 0.0) + stats.seconds
        atomic_write_json(times_file, times)
    return float(times.get(key, float("nan")))


def train_supernet(supernet: Supernet, sampler: Sampler, data: Split, config: TrainConfig,
                   checkpoint: FilePath | None = None, sort_channels: bool = True,
                   on_epoch: Callable[[int, float], None] | None = None,
                   replicas: Replicas | None = None, stop_epoch: int | None = None) -> SupernetStats:
    """Train ``supernet`` in place for ``config.epochs`` epochs (SGD, cosine LR as the stand-alone trainer).

    ``config.batch_size`` is the global batch; with ``replicas`` it is split across processes. ``stop_epoch``
    ends the run early with the schedule still set for ``config.epochs`` (few-shot splitting continues it).
    """
    if config.optimizer != "sgd":
        raise ArchfitError(f"supernet training uses SGD; optimizer {config.optimizer!r} is not supported")
    if sampler.max_level > supernet.max_level:
        raise ArchfitError(f"sampler {sampler.name!r} needs a supernet with max_level >= {sampler.max_level}")
    replicas = replicas or Replicas()
    if config.batch_size % replicas.world:
        raise ArchfitError(f"global batch {config.batch_size} is not divisible by {replicas.world} processes")
    optimizer = make_optimizer(supernet, config)
    n = len(data)
    steps_per_epoch = max(1, n // config.batch_size)
    total = config.epochs * steps_per_epoch
    start_epoch = 0
    if checkpoint is not None and checkpoint.exists():
        start_epoch = min(load_checkpoint(checkpoint, supernet, optimizer, sampler.name), config.epochs)
    sampler.start(supernet, total, steps_per_epoch)
    model = replicas.wrap(supernet)
    begin, steps, visited, epoch_loss = time.perf_counter(), 0, 0, float("nan")
    supernet.train()
    end = config.epochs if stop_epoch is None else max(start_epoch, min(stop_epoch, config.epochs))
    for epoch in range(start_epoch, end):
        sampler.begin_epoch(epoch, config.seed)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(config.seed * 100_003 + epoch))
        running, count, digest = 0.0, 0, hashlib.sha256()
        for i in range(steps_per_epoch):
            step = epoch * steps_per_epoch + i
            index = order[i * config.batch_size:(i + 1) * config.batch_size]
            batch_x, batch_y = replicas.place(data.x[index]), replicas.place(data.y[index])  # the global batch
            x, y = replicas.share(batch_x), replicas.share(batch_y)
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total, config.lr)
            optimizer.zero_grad(set_to_none=True)
            teacher = None
            for path in sampler.paths(step, batch_x, batch_y):
                digest.update(path.arch.key.encode())
                supernet.activate(path.arch)
                logits = model(x)
                if path.loss == "distill" and teacher is not None:
                    loss = distill_loss(logits, teacher)
                else:
                    loss = F.cross_entropy(logits, y, label_smoothing=config.label_smoothing)
                if path.teacher:
                    teacher = logits.detach()
                loss.backward()
                running, count, visited = running + float(loss.detach()), count + 1, visited + 1
            optimizer.step()
            steps += 1
        replicas.check_same_paths(digest.hexdigest())
        epoch_loss = replicas.mean(running / max(1, count))  # every process sees the same value: all stop together
        if not epoch_loss == epoch_loss or epoch_loss == float("inf"):
            raise ArchfitError(f"supernet training diverged at epoch {epoch} (loss {epoch_loss}); lower --lr")
        if sort_channels and sampler.sorts_channels:
            supernet.sort_channels(optimizer)
        if checkpoint is not None and replicas.writer:
            save_checkpoint(checkpoint, supernet, optimizer, epoch + 1, sampler.name)
        if on_epoch:
            on_epoch(epoch, epoch_loss)
    return SupernetStats(end, start_epoch, steps, visited, epoch_loss, time.perf_counter() - begin)
