"""Data-parallel training with PyTorch DDP, launched by ``torchrun`` (gloo on CPU, NCCL on GPUs).

    torchrun --standalone --nproc-per-node 2 -m archfit.run.ddp_train RUN_DIR --data digits --epochs 40 --out OUT

(``-m archfit.train.ddp`` still works: it launches the same entry point) trains the architecture chosen by a search (``RUN_DIR/arch.json``) from scratch and writes it to OUT
like ``archfit search`` does (arch.json + safetensors, rank 0 only, atomically). Any ``nn.Module`` —
a final model, or a supernet once one exists — can be trained in-process with ``train_ddp``.

Same result as one process: every rank draws the same seeded permutation and takes its contiguous
share of each *global* batch (``batch_size`` = global batch, divisible by the world size); DDP averages
gradients, so the update equals the single-process one on the whole batch — exactly so for networks
without BatchNorm. On GPUs BatchNorm becomes ``SyncBatchNorm`` (statistics of the global batch); torch
has no CPU SyncBatchNorm, so on CPU each rank normalises with the statistics of its own share (as
``DistributedDataParallel`` does by default) and BatchNorm networks agree with one process closely but
not bitwise: tests/test_ddp.py states the tolerance (final loss within 5% relative, validation accuracy
within 0.05) and checks bitwise-level agreement (1e-4 relative) for a network without BatchNorm.
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
import time
from collections.abc import Callable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from archfit.data.base import Split
from archfit.errors import ArchfitError
from archfit.train.trainer import TrainConfig, TrainStats, cosine_lr, make_optimizer


def setup() -> tuple[int, int, torch.device]:
    """Join the process group torchrun describes (RANK, WORLD_SIZE, MASTER_ADDR...); (rank, world, device)."""
    if "RANK" not in os.environ or "WORLD_SIZE" not in os.environ:
        raise ArchfitError("not launched by torchrun: expected RANK and WORLD_SIZE in the environment")
    cuda = torch.cuda.is_available()
    dist.init_process_group("nccl" if cuda else "gloo")
    rank, world = dist.get_rank(), dist.get_world_size()
    device = torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    return rank, world, device


def train_ddp(model: nn.Module, data: Split, config: TrainConfig, device: torch.device | None = None) -> TrainStats:
    """Train ``model`` in place across the process group; the same schedule as ``archfit.train.train``."""
    rank, world = dist.get_rank(), dist.get_world_size()
    if config.batch_size % world:
        raise ArchfitError(f"global batch {config.batch_size} is not divisible by {world} processes")
    device = device or torch.device("cpu")
    local = config.batch_size // world
    replica = copy.deepcopy(model).to(device)
    if device.type == "cuda":  # SyncBatchNorm is GPU-only in torch; on CPU each rank normalises its own share
        replica = nn.SyncBatchNorm.convert_sync_batchnorm(replica)  # same state_dict keys as BatchNorm
    ddp = DistributedDataParallel(replica, device_ids=[device.index] if device.type == "cuda" else None)
    optimizer = make_optimizer(ddp.module, config)
    generator = torch.Generator().manual_seed(config.seed)
    n = len(data)
    steps_per_epoch = max(1, n // config.batch_size)
    total, step, epoch_loss, start = config.epochs * steps_per_epoch, 0, float("nan"), time.perf_counter()
    ddp.train()
    for _ in range(config.epochs):
        order = torch.randperm(n, generator=generator)  # identical on every rank
        running = torch.zeros((), device=device)
        for i in range(steps_per_epoch):
            index = order[i * config.batch_size + rank * local:i * config.batch_size + (rank + 1) * local]
            x, y = data.x[index].to(device), data.y[index].to(device)
            for group in optimizer.param_groups:
                group["lr"] = cosine_lr(step, total, config.lr)
            loss = F.cross_entropy(ddp(x), y, label_smoothing=config.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()  # DDP all-reduces (averages) the gradients here
            optimizer.step()
            running += loss.detach()
            step += 1
        dist.all_reduce(running)
        epoch_loss = float(running) / (steps_per_epoch * world)
    model.load_state_dict({k: v.cpu() for k, v in replica.state_dict().items()})  # back into the plain model
    return TrainStats(epoch_loss, time.perf_counter() - start, step)


def run_entry_point(run: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Body of a torchrun entry point: bad input is one line and exit code 2 on every rank, and the
    process group is always torn down (even when ``run`` fails before or after initialising it)."""
    try:
        return run(args)
    except ArchfitError as exc:
        print(f"archfit: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


if __name__ == "__main__":  # `torchrun -m archfit.train.ddp ...`: the documented command, kept as a thin entry point
    from archfit.run.ddp_train import main

    sys.exit(main())
