"""A tiny command line until the job layer wires ``archfit search --method``:

    python -m archfit.differentiable --method pcdarts --data fashion-mnist --image-size 16 --train-subset 3000 \
        --space-args '{"channels": 8, "cells": 1}' --epochs 6 --out runs/pc [--resume]

Prints the derived arch and writes ``differentiable.json``, ``alpha.png``, ``cell.png`` into ``--out``.
Bad input exits with code 2 and one line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from archfit.errors import ArchfitError


def main(argv: list[str] | None = None) -> int:
    from archfit.data import load_data
    from archfit.differentiable import DiffSettings, differentiable_search, list_methods
    from archfit.io import parse_json_object
    from archfit.space import create_space

    parser = argparse.ArgumentParser(prog="python -m archfit.differentiable", description=__doc__.splitlines()[0])
    parser.add_argument("--method", required=True, help=f"one of {list_methods()}")
    parser.add_argument("--data", default="digits")
    parser.add_argument("--image-size", type=int)
    parser.add_argument("--train-subset", type=int)
    parser.add_argument("--space", default="nb201")
    parser.add_argument("--space-args", default="{}", help="JSON object of space parameters")
    parser.add_argument("--method-args", default="{}", help="JSON object of the method's parameters")
    parser.add_argument("--epochs", type=int, default=DiffSettings.epochs)
    parser.add_argument("--batch-size", type=int, default=DiffSettings.batch_size)
    parser.add_argument("--arch-lr", type=float, default=DiffSettings.arch_lr)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path)
    parser.add_argument("--resume", action="store_true")
    args = parser.parse_args(argv)
    try:
        data = load_data(args.data, args.image_size, args.train_subset)
        space = create_space(args.space, input_shape=list(data.input_shape), num_classes=data.num_classes,
                             **parse_json_object("--space-args", args.space_args))
        settings = DiffSettings(epochs=args.epochs, batch_size=args.batch_size, arch_lr=args.arch_lr, seed=args.seed,
                                method_params=parse_json_object("--method-args", args.method_args))

        def progress(report: dict) -> None:
            print(f"\repoch {report['epoch']}/{report['epochs']} step {report['step']}/{report['steps']} "
                  f"loss {report['loss']:.3f} eta {report['eta_s']:.0f}s", end="", file=sys.stderr, flush=True)

        outcome = differentiable_search(space, data, args.method, settings, args.out, args.resume, progress)
    except ArchfitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(file=sys.stderr)
    print(json.dumps({"arch": dict(outcome.arch), "arch_string": outcome.extras.get("arch_string"),
                      "wall_s": round(outcome.wall_s, 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
