"""``archfit search``: search a space on data under a budget; return a real model, its cost, a report."""

from __future__ import annotations

import time
from pathlib import Path

from archfit.config import DEFAULT_MAX_FLOPS, SearchConfig
from archfit.errors import ArchfitError


def add_parser(sub) -> None:
    d = SearchConfig()
    p = sub.add_parser("search", help="search a space under a budget", description=__doc__)
    p.add_argument("--space", default=d.space, help=f"search space (see 'archfit spaces'; default {d.space})")
    p.add_argument("--space-args", default="{}", metavar="JSON", help="space constructor overrides, e.g. '{\"max_depth\": 2}'")
    p.add_argument("--data", default=d.data, help="digits | mnist1d | folder of CIFAR-10 python batches | image folder")
    p.add_argument("--image-size", type=int, default=d.image_size, help="image folders are resized to this side (px)")
    p.add_argument("--strategy", default=d.strategy, help="random | evolution | local | bananas | optuna:<sampler>")
    p.add_argument("--trials", type=int, default=d.trials, help="distinct architectures to evaluate")
    p.add_argument("--estimator", default=d.estimator, help="how candidates are scored: train | tabular | supernet")
    p.add_argument("--table", help="tabular estimator: NAS-Bench-201-style CSV with an 'arch' column")
    p.add_argument("--column", default=d.column, help=f"tabular estimator: metric column (default {d.column})")
    p.add_argument("--sampler", default=d.sampler,
                   help=f"supernet sampling rule: uniform | sandwich | cafenet | close (default {d.sampler})")
    p.add_argument("--supernet-epochs", type=int, default=d.supernet_epochs, help="supernet training epochs")
    p.add_argument("--supernet", metavar="PATH", help="supernet estimator: start from this trained checkpoint "
                                                     "(e.g. from torchrun -m archfit.supernet.ddp; see docs/scale.md)")
    p.add_argument("--final", default=d.final, choices=["train", "finetune"],
                   help="chosen arch: train from scratch, or fine-tune inherited supernet weights")
    p.add_argument("--epochs", type=int, default=d.epochs, help="training epochs per candidate")
    p.add_argument("--final-epochs", type=int, default=d.final_epochs, help="training epochs for the chosen model")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--lr", type=float, default=d.lr, help="peak learning rate (cosine schedule)")
    p.add_argument("--optimizer", default=d.optimizer, choices=["sgd", "adamw"])
    p.add_argument("--label-smoothing", type=float, default=d.label_smoothing)
    p.add_argument("--max-flops", help=f"FLOPs budget, 2 x MACs at batch 1 (e.g. 5M, 0.3G; default {DEFAULT_MAX_FLOPS} "
                                       "when no budget is given)")
    p.add_argument("--max-params", help="parameter budget (e.g. 50k)")
    p.add_argument("--max-latency-ms", help="median batch-1 CPU latency budget in ms, measured here")
    p.add_argument("--latency-runtime", default=d.latency_runtime, metavar="{torch,onnxruntime}",
                   help="what runs the timed passes: eager PyTorch or an onnxruntime CPU session "
                        f"(onnx extra); default {d.latency_runtime}")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--executor", default=d.executor, help="local | processes:N | ray | ray:N | ray:auto | ray://HOST:PORT, optionally + ',ordered' (see docs/scale.md)")
    p.add_argument("--threads", type=int, default=d.threads, help="torch intra-op threads (training and latency)")
    p.add_argument("--out", type=Path, help="run folder (default runs/<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out (same settings)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", action="store_true", help="no summary table")
    p.set_defaults(run=run)


def parse_space_args(text: str) -> dict:
    """``--space-args`` JSON → keyword arguments of the space (one-line errors for anything else)."""
    from archfit.io import parse_json_object

    return parse_json_object("--space-args", text)


def config_from_args(args) -> SearchConfig:
    space_args = parse_space_args(args.space_args)
    return SearchConfig(
        space=args.space, space_args=space_args, data=args.data, image_size=args.image_size,
        strategy=args.strategy, trials=args.trials, estimator=args.estimator, table=args.table, column=args.column,
        epochs=args.epochs,
        final_epochs=args.final_epochs, batch_size=args.batch_size, lr=args.lr, optimizer=args.optimizer,
        label_smoothing=args.label_smoothing, max_flops=args.max_flops, max_params=args.max_params,
        max_latency_ms=args.max_latency_ms, latency_runtime=args.latency_runtime, seed=args.seed,
        executor=args.executor, threads=args.threads, sampler=args.sampler, supernet_epochs=args.supernet_epochs,
        final=args.final, supernet=args.supernet)


def run(args) -> int:
    from archfit.run.job import run_search
    from archfit.method import create_method
    from archfit.space import space_class
    from archfit.strategy import create_strategy

    config = config_from_args(args)
    space_class(config.space)  # fail fast on names, before loading data
    create_strategy(config.strategy)
    if args.resume and args.out is None:
        raise ArchfitError("--resume needs --out DIR: the run folder to continue")
    out = args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    results = run_search(config, out, resume=args.resume, progress=not args.no_progress)
    if not args.quiet:
        create_method(config.estimator).print_summary(results, str(out))
    return 0
