"""Data-parallel supernet training with PyTorch DDP, launched by ``torchrun`` (gloo on CPU, NCCL on GPUs).

    torchrun --standalone --nproc-per-node 2 -m archfit.supernet.ddp --data digits --sampler sandwich \
        --epochs 30 --out OUT
    archfit search --estimator supernet --supernet OUT/supernet.safetensors --supernet-epochs 30 ...

runs the one supernet training loop (``archfit.supernet.training``) on every rank with a ``DDPReplicas``:

- every rank draws the same seeded batch order and the sampling rule sees the whole *global* batch, so
  every rank visits the same sub-networks each step, exactly as one process would (rules that look at
  the data, like CafeNet's placement search, decide on identical inputs); a hash of the visited paths
  is compared across ranks every epoch and training stops if they ever differ;
- each rank runs forward/backward on its contiguous share of the global batch (``--batch-size``, divisible
  by the number of processes); DDP averages gradients, which equals one process's gradient of the whole
  batch; weights off the active path get no gradient (``find_unused_parameters=True``), and since every
  rank agrees on the path they are skipped by the optimizer on every rank, as in one process;
- BatchNorm normalises with each rank's own share (the supernet's elastic BatchNorm has no synchronised
  variant), so results agree with one process closely, not bitwise: see docs/scale.md for the tolerance;
- rank 0 writes ``OUT/supernet.safetensors`` atomically after every epoch (the format ``archfit search
  --estimator supernet`` reads; a killed run resumes from it) and ``OUT/supernet.json`` at the end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from archfit.errors import ArchfitError
from archfit.supernet.supernet import Supernet
from archfit.supernet.training import CHECKPOINT, Replicas


class DDPReplicas(Replicas):
    """The training loop's hooks inside an initialised process group."""

    def __init__(self, device: torch.device) -> None:
        self.rank, self.world, self.device = dist.get_rank(), dist.get_world_size(), device
        self.writer = self.rank == 0

    def wrap(self, supernet: Supernet) -> nn.Module:
        # Parameters and buffers are synced from rank 0 here; BatchNorm statistics are not re-synced on every
        # forward pass (each rank keeps its own; rank 0's are written, and search recalibrates BN anyway).
        return DistributedDataParallel(supernet, device_ids=[self.device.index] if self.device.type == "cuda" else None,
                                       find_unused_parameters=True, forward_sync_buffers=False)

    def place(self, batch: torch.Tensor) -> torch.Tensor:
        return batch.to(self.device)

    def share(self, batch: torch.Tensor) -> torch.Tensor:
        local = batch.shape[0] // self.world
        return batch[self.rank * local:(self.rank + 1) * local]

    def mean(self, value: float) -> float:
        total = torch.tensor([value], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return float(total) / self.world

    def check_same_paths(self, digest: str) -> None:
        digests: list[str | None] = [None] * self.world
        dist.all_gather_object(digests, digest)
        if len(set(digests)) != 1:
            raise ArchfitError(f"processes sampled different sub-networks this epoch (path hashes {digests}); "
                               "a sampling rule must depend only on the seed, the step and the global batch")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    from archfit.config import SearchConfig

    d = SearchConfig()
    parser = argparse.ArgumentParser(prog="archfit.supernet.ddp", description="DDP training of the chain-space supernet "
                                     "(launch with torchrun); the checkpoint is what archfit search --supernet reads")
    parser.add_argument("--data", default=d.data, help="digits | mnist1d | CIFAR-10 folder | image folder")
    parser.add_argument("--image-size", type=int, default=d.image_size)
    parser.add_argument("--space-args", default="{}", metavar="JSON", help="chain space overrides, as archfit search")
    parser.add_argument("--sampler", default=d.sampler, help="uniform | sandwich | cafenet | close")
    parser.add_argument("--epochs", type=int, default=d.supernet_epochs, help="supernet training epochs")
    parser.add_argument("--batch-size", type=int, default=d.batch_size, help="global batch (all processes together)")
    parser.add_argument("--lr", type=float, default=d.lr)
    parser.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    parser.add_argument("--seed", type=int, default=d.seed)
    parser.add_argument("--out", type=Path, required=True, help="folder for supernet.safetensors and supernet.json")
    parser.add_argument("--quiet", action="store_true", help="no per-epoch lines")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    from archfit.train.ddp import run_entry_point

    return run_entry_point(_run, parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    from archfit.config import SearchConfig
    from archfit.data import load_data
    from archfit.io import atomic_write_json
    from archfit.run.job import prepare_space
    from archfit.supernet.search import train_run_supernet
    from archfit.train.ddp import setup

    from archfit.cli.search import parse_space_args

    space_args = parse_space_args(args.space_args)
    config = SearchConfig(space="chain", space_args=space_args, data=args.data, image_size=args.image_size,
                          estimator="supernet", sampler=args.sampler, supernet_epochs=args.epochs,
                          batch_size=args.batch_size, lr=args.lr, label_smoothing=args.label_smoothing, seed=args.seed)
    if args.out.exists() and not args.out.is_dir():
        raise ArchfitError(f"--out {args.out} exists and is not a folder")
    rank, world, device = setup()
    torch.set_num_threads(1)
    data = load_data(config.data, config.image_size)
    space = prepare_space(config, data)
    replicas = DDPReplicas(device)
    _, sampler, stats = train_run_supernet(config, space, data, args.out / CHECKPOINT, progress=not args.quiet and rank == 0,
                                           replicas=replicas)
    if rank == 0:
        atomic_write_json(args.out / "supernet.json", {
            "checkpoint": CHECKPOINT, "space": space.spec(), "data": data.name, "sampler": sampler.describe(),
            "ddp": {"processes": world, "global_batch": config.batch_size, "backend": dist.get_backend()},
            "settings": {"sampler": config.sampler, "epochs": config.supernet_epochs, "batch_size": config.batch_size,
                         "lr": config.lr, "label_smoothing": config.label_smoothing, "seed": config.seed,
                         "space_args": space_args, "data": config.data},
            "stats": {"epochs": stats.epochs, "resumed_from_epoch": stats.resumed_from, "steps": stats.steps,
                      "paths_trained": stats.paths, "final_loss": stats.final_loss, "seconds": stats.seconds},
            "use": f"archfit search --estimator supernet --supernet {args.out / CHECKPOINT} --sampler {config.sampler} "
                   f"--supernet-epochs {config.supernet_epochs} --data {config.data}"
                   + (f" --space-args '{json.dumps(space_args)}'" if space_args else "")})
        print(f"supernet trained on {world} processes in {stats.seconds:.1f} s (final loss {stats.final_loss:.4f}): "
              f"{args.out / CHECKPOINT}")
    dist.barrier()
    return 0


if __name__ == "__main__":
    sys.exit(main())
