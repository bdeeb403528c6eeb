"""``archfit search``: search a space on data under a budget; return a real model, its cost, a report."""

from __future__ import annotations

import argparse
import time
from dataclasses import fields
from pathlib import Path
from typing import Any

from archfit.cli.data_args import add_data_args
from archfit.config import DEFAULT_MAX_FLOPS, SearchConfig
from archfit.errors import ArchfitError

SETTINGS = tuple(f.name for f in fields(SearchConfig))  # also the argparse destinations of the setting flags


def add_parser(sub) -> None:
    d = SearchConfig()
    p = sub.add_parser("search", help="search a space under a budget", description=__doc__)
    p.add_argument("--space", default=d.space, help=f"search space (see 'archfit spaces'; default {d.space})")
    p.add_argument("--space-args", default="{}", metavar="JSON", help="space constructor overrides, e.g. '{\"max_depth\": 2}'")
    add_data_args(p, d.data)
    p.add_argument("--strategy", default=d.strategy, help="random | evolution | local | bananas | optuna:<sampler>")
    p.add_argument("--trials", type=int, default=d.trials, help="distinct architectures to evaluate")
    p.add_argument("--estimator", default=d.estimator, help="how candidates are scored: train | tabular | supernet")
    p.add_argument("--method", dest="estimator", default=argparse.SUPPRESS,
                   help="same as --estimator; differentiable search: darts | pcdarts | gdas | sharpdarts | rarts | "
                        "dartspt | ista | topology | robust (space nb201) | proxyless (space chain, --max-latency-ms)")
    p.add_argument("--table", help="tabular estimator: NAS-Bench-201-style CSV with an 'arch' column")
    p.add_argument("--column", default=d.column, help=f"tabular estimator: metric column (default {d.column})")
    p.add_argument("--sampler", default=d.sampler,
                   help=f"supernet sampling rule: uniform | sandwich | cafenet | close (default {d.sampler})")
    p.add_argument("--supernet-epochs", type=int, default=d.supernet_epochs, help="supernet training epochs")
    p.add_argument("--arch-lr", type=float, default=d.arch_lr,
                   help="differentiable methods: Adam learning rate of the architecture parameters (default: "
                        "DARTS' 3e-4; short runs on small subsets need more, e.g. 3e-3)")
    p.add_argument("--supernet-paths", default=d.supernet_paths, metavar="{all,budget}",
                   help="random supernet paths from the whole space, or only those within the FLOPs/params/"
                        f"device-table budget (default {d.supernet_paths})")
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
    p.add_argument("--max-latency-ms", help="median batch-1 CPU latency budget in ms, measured here (with "
                                            "--latency-table: the latency measured on --device, from the table)")
    p.add_argument("--latency-table", metavar="PATH", help="CSV of measured latencies per architecture: an 'arch' "
                                                           "column and one '<device>_ms' column per device (e.g. "
                                                           "HW-NAS-Bench's NAS-Bench-201 latencies); with --device")
    p.add_argument("--device", help="the --latency-table column <device>_ms whose latency --max-latency-ms bounds "
                                    "(e.g. raspi4, pixel2)")
    p.add_argument("--max-size", help="deployed model size budget: float32 state-dict bytes (e.g. 200KB, 1.5MB; "
                                      "KB = 1000 B, KiB = 1024 B)")
    p.add_argument("--latency-runtime", default=d.latency_runtime, metavar="{torch,onnxruntime}",
                   help="what runs the timed passes: eager PyTorch or an onnxruntime CPU session "
                        f"(onnx extra); default {d.latency_runtime}")
    p.add_argument("--latency-clock", default=d.latency_clock, metavar="{wall,cpu}",
                   help="what times the passes: the wall clock, or cpu = the timing thread's CPU time (needs "
                        "--threads 1; on a loaded machine the latency of an idle core); default "
                        f"{d.latency_clock}")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--executor", default=d.executor, help="local | processes:N | ray | ray:N | ray:auto | ray://HOST:PORT, optionally + ',ordered' (see docs/scale.md)")
    p.add_argument("--threads", type=int, default=d.threads, help="torch intra-op threads (training and latency)")
    p.add_argument("--out", type=Path, help="run folder (default runs/<timestamp>)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out with its stored settings "
                                                         "(flags not given come from the run; a flag that differs "
                                                         "from the stored value is refused)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--quiet", action="store_true", help="no summary table")
    # Every setting defaults to None: "not given". A fresh run fills it from SearchConfig, a resumed one from the store.
    p.set_defaults(run=run, **{name: None for name in SETTINGS})


def parse_space_args(text: str) -> dict:
    """``--space-args`` JSON → keyword arguments of the space (one-line errors for anything else)."""
    from archfit.io import parse_json_object

    return parse_json_object("--space-args", text)


def given_settings(args) -> dict[str, Any]:
    """The settings given on the command line (argparse destinations are ``SearchConfig`` field names)."""
    given = {name: getattr(args, name, None) for name in SETTINGS}
    given = {name: value for name, value in given.items() if value is not None}
    if "space_args" in given:
        given["space_args"] = parse_space_args(given["space_args"])
    return given


def config_from_args(args, stored: dict[str, Any] | None = None) -> SearchConfig:
    """Settings of a fresh run (defaults + flags) or of a resumed one (stored + flags, which must agree)."""
    given = given_settings(args)
    if stored is None:
        return SearchConfig(**given)
    base = SearchConfig.from_dict(stored).to_dict()
    config = SearchConfig(**{**base, **given})
    merged = config.to_dict()
    differ = [f"{name}: {base[name]!r} → {merged[name]!r}" for name in given if merged[name] != base[name]]
    if differ:
        flags = ", ".join(f"--{name.replace('_', '-')}" for name in given if merged[name] != base[name])
        raise ArchfitError(f"--resume {args.out}: settings differ from the stored run ({'; '.join(differ)}); "
                           f"drop {flags} to continue with the stored settings")
    return config


def run(args) -> int:
    from archfit.method import create_method
    from archfit.run.job import run_search, stored_settings
    from archfit.space import space_class
    from archfit.strategy import create_strategy

    if args.resume and args.out is None:
        raise ArchfitError("--resume needs --out DIR: the run folder to continue")
    config = config_from_args(args, stored_settings(args.out) if args.resume else None)
    space_class(config.space)  # fail fast on names, before loading data
    create_strategy(config.strategy)
    out = args.out or Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    results = run_search(config, out, resume=args.resume, progress=not args.no_progress)
    if not args.quiet:
        create_method(config.estimator).print_summary(results, str(out))
    return 0
