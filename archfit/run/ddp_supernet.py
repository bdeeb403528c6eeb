"""The ``torchrun`` entry point of data-parallel supernet training (``archfit.supernet.ddp.DDPReplicas``).

    torchrun --standalone --nproc-per-node 2 -m archfit.run.ddp_supernet --data digits --sampler sandwich \
        --epochs 30 --out OUT
    archfit search --estimator supernet --supernet OUT/supernet.safetensors --supernet-epochs 30 ...

It lives in the job layer because it reads a run's settings (``SearchConfig``) and builds the run's space;
the old command ``-m archfit.supernet.ddp`` launches this same ``main``. See ``archfit/supernet/ddp.py`` for
what DDP changes in the training loop and docs/scale.md for the tolerance.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from archfit.config import SearchConfig
from archfit.data import load_data
from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, parse_json_object
from archfit.run.job import prepare_space
from archfit.supernet.ddp import DDPReplicas
from archfit.supernet.search import train_run_supernet
from archfit.supernet.training import CHECKPOINT
from archfit.train.ddp import run_entry_point, setup


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    d = SearchConfig()
    parser = argparse.ArgumentParser(prog="archfit.run.ddp_supernet", description="DDP training of the chain-space supernet "
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
    return run_entry_point(_run, parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    space_args = parse_json_object("--space-args", args.space_args)
    config = SearchConfig(space="chain", space_args=space_args, data=args.data, image_size=args.image_size,
                          estimator="supernet", sampler=args.sampler, supernet_epochs=args.epochs,
                          batch_size=args.batch_size, lr=args.lr, label_smoothing=args.label_smoothing, seed=args.seed)
    if args.out.exists() and not args.out.is_dir():
        raise ArchfitError(f"--out {args.out} exists and is not a folder")
    rank, world, device = setup()
    torch.set_num_threads(1)
    data = load_data(config.data, config.image_size, config.train_subset)
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
