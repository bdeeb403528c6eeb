"""``archfit slim``: the same model, physically narrower, under a FLOPs / params / latency budget."""

from __future__ import annotations

import time
from pathlib import Path

from archfit.errors import ArchfitError


def add_parser(sub) -> None:
    from archfit.cli.data_args import add_data_args
    from archfit.compress.pipeline import SlimConfig, slim_methods

    d = SlimConfig()
    p = sub.add_parser("slim", help="fit a PyTorch model to a budget by searching its layer widths",
                       description=__doc__)
    p.add_argument("--model", required=True, help="built-in name (resnet20, resnet56, resnet1d, mobilenetv2, vit, "
                                                  "cnn1d, concat, grouped, se_dense), package.module:Class or file.py:Class")
    p.add_argument("--model-args", default="{}", metavar="JSON", help="constructor arguments; num_classes, in_channels "
                                                                       "and input_shape default to the data's")
    p.add_argument("--weights", help="trained weights (safetensors or a torch state dict, loaded weights-only); "
                                     "without it the model is trained first for --pretrain-epochs")
    add_data_args(p, d.data)
    p.add_argument("--max-flops", help="FLOPs budget (2 x MACs, batch 1): absolute like 20M or relative like 50%%")
    p.add_argument("--max-params", help="parameter budget: absolute like 50k or relative like 25%%")
    p.add_argument("--max-latency-ms", help="median batch-1 CPU latency budget in ms (or %% of the original)")
    p.add_argument("--method", default="width", help=f"{' | '.join(slim_methods())} | all (comma-separate several)")
    p.add_argument("--ratios", default=",".join(str(r) for r in d.ratios), help="width ratios per group")
    p.add_argument("--round-to", type=int, default=d.round_to, help="widths in multiples of this (e.g. 8)")
    p.add_argument("--ignore", action="append", default=[], metavar="NAME",
                   help="keep this layer's channels (repeatable); the classifier's outputs are always kept")
    p.add_argument("--pretrain-epochs", type=int, default=d.pretrain_epochs)
    p.add_argument("--supernet-epochs", type=int, default=d.supernet_epochs, help="width supernet training epochs")
    p.add_argument("--evaluations", type=int, default=d.evaluations, help="width configurations scored by the search")
    p.add_argument("--finetune-epochs", type=int, default=d.finetune_epochs, help="fine-tuning epochs, every method")
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--latency-threads", type=int, default=d.latency_threads, help="threads for latency measurement")
    p.add_argument("--latency-runtime", default=d.latency_runtime, metavar="{torch,onnxruntime}",
                   help="what runs the timed passes: eager PyTorch or an onnxruntime CPU session "
                        f"(onnx extra); default {d.latency_runtime}")
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--out", type=Path, help="output folder (default runs/slim-<timestamp>)")
    p.set_defaults(run=run)


def config_from_args(args):
    from archfit.cli.data_args import check_data_args
    from archfit.compress.pipeline import SlimConfig, slim_methods
    from archfit.compress.spec import parse_model_args, resolve_class
    from archfit.cost import check_runtime

    known = slim_methods()
    methods = known if args.method == "all" else tuple(m.strip() for m in args.method.split(",") if m.strip())
    for method in methods:
        if method not in known:
            raise ArchfitError(f"--method {method!r} is not one of {list(known) + ['all']}")
    try:
        ratios = tuple(float(r) for r in args.ratios.split(","))
    except ValueError:
        raise ArchfitError(f"--ratios {args.ratios!r} must be comma-separated numbers in (0, 1]") from None
    if min(args.pretrain_epochs, args.supernet_epochs, args.finetune_epochs) < 0 or args.evaluations < 1:
        raise ArchfitError("epochs must be >= 0 and --evaluations >= 1")
    check_runtime(args.latency_runtime, "--latency-runtime")
    check_data_args(args.image_size, args.train_subset)
    resolve_class(args.model)  # fail fast, before loading data
    if args.weights and not Path(args.weights).is_file():
        raise ArchfitError(f"--weights {args.weights} does not exist")
    return SlimConfig(model=args.model, model_args=parse_model_args(args.model_args), weights=args.weights,
                      data=args.data, image_size=args.image_size, train_subset=args.train_subset, max_flops=args.max_flops, max_params=args.max_params,
                      max_latency_ms=args.max_latency_ms, methods=methods, ratios=ratios, round_to=args.round_to,
                      ignore=tuple(args.ignore), pretrain_epochs=args.pretrain_epochs,
                      supernet_epochs=args.supernet_epochs, evaluations=args.evaluations,
                      finetune_epochs=args.finetune_epochs, lr=args.lr, batch_size=args.batch_size,
                      latency_threads=args.latency_threads, latency_runtime=args.latency_runtime,
                      seed=args.seed)


def run(args) -> int:
    from archfit.compress.results import run_and_save

    config = config_from_args(args)
    out = args.out or Path("runs") / time.strftime("slim-%Y%m%d-%H%M%S")
    run_and_save(config, out)
    return 0
