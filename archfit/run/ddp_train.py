"""The ``torchrun`` entry point that trains a searched arch with DDP (``archfit.train.ddp.train_ddp``).

    torchrun --standalone --nproc-per-node 2 -m archfit.run.ddp_train RUN_DIR --data digits --epochs 40 --out OUT

It lives in the job layer because it reads a run folder and writes one (``run/artifacts.py``); the old
command ``-m archfit.train.ddp`` launches this same ``main``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
import torch.distributed as dist

from archfit.errors import ArchfitError
from archfit.train.ddp import run_entry_point, setup, train_ddp
from archfit.train.trainer import TrainConfig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="archfit.run.ddp_train", description="DDP training of a searched arch")
    parser.add_argument("run_dir", type=Path, help="folder with arch.json (a search's run folder)")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--epochs", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64, help="global batch (all processes together)")
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    return run_entry_point(_run, parser.parse_args(argv))


def _run(args: argparse.Namespace) -> int:
    from archfit.data import load_data
    from archfit.io import read_json
    from archfit.run.artifacts import save_model
    from archfit.space import space_from_spec
    from archfit.train.trainer import accuracy

    rank, world, device = setup()
    torch.set_num_threads(1)
    spec = read_json(args.run_dir / "arch.json", "an archfit arch file with 'space' and 'arch'")
    if not isinstance(spec, dict) or "space" not in spec or "arch" not in spec:
        raise ArchfitError(f"{args.run_dir / 'arch.json'} lacks 'space' and 'arch'")
    space = space_from_spec(spec["space"])
    arch = space.validate(spec["arch"])
    data = load_data(args.data)
    config = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    torch.manual_seed(args.seed)
    model = space.build(arch)
    stats = train_ddp(model, data.train, config, device)
    if rank == 0:
        metrics = {"valid_acc": accuracy(model, data.valid), "test_acc": accuracy(model, data.test),
                   "final_train_loss": stats.final_loss}
        save_model(args.out, space, arch, model, {"data": data.name, "metrics": metrics,
                                                  "ddp": {"processes": world, "global_batch": args.batch_size,
                                                          "epochs": args.epochs, "seconds": stats.seconds}})
        print(f"trained {arch.key} on {world} processes in {stats.seconds:.1f} s: valid_acc {metrics['valid_acc']:.4f}")
    dist.barrier()
    return 0


if __name__ == "__main__":
    sys.exit(main())
