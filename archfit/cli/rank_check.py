"""``archfit rank-check``: how well does a supernet rank architectures? Ground truth = stand-alone training.

Samples K architectures stratified over FLOPs, trains each stand-alone with every seed (cached in
the output folder, so reruns are free), trains one supernet per sampling rule (checkpointed,
resumable), and reports Kendall tau, Spearman rho and top-k precision of each rule — and of #params
and FLOPs as naive predictors — against mean stand-alone test accuracy, with scatter plots.
"""

from __future__ import annotations

import json
from pathlib import Path

from archfit.errors import ArchfitError


def add_parser(sub) -> None:
    from archfit.cli.data_args import add_data_args

    p = sub.add_parser("rank-check", help="rank correlation of supernet estimates vs stand-alone training",
                       description=__doc__)
    add_data_args(p, "digits")
    p.add_argument("--space-args", default="{}", metavar="JSON", help="chain space constructor overrides")
    p.add_argument("--k", type=int, default=30, help="architectures, stratified over FLOPs")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1], help="stand-alone training seeds")
    p.add_argument("--epochs", type=int, default=5, help="stand-alone training epochs per arch and seed")
    p.add_argument("--sampler", nargs="+", default=["sandwich"], help="rules: uniform sandwich cafenet close")
    p.add_argument("--supernet-epochs", type=int, default=8)
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--lr", type=float, default=0.05, help="peak learning rate (cosine schedule)")
    p.add_argument("--top-k", type=int, default=5)
    p.add_argument("--seed", type=int, default=0, help="seed of the architecture sample and the supernets")
    p.add_argument("--out", type=Path, required=True, help="folder for the cache, results and report")
    p.set_defaults(run=run)


def run(args) -> int:
    import torch

    from archfit.cli.data_args import check_data_args
    from archfit.data import load_data
    from archfit.io import atomic_write_json
    from archfit.space import create_space
    from archfit.supernet.groundtruth import stratified_archs
    from archfit.supernet.rank_check import rank_check, write_rank_report
    from archfit.supernet.sampler import create_sampler
    from archfit.train import TrainConfig

    if args.k < 2 or not args.seeds or args.epochs < 1 or args.supernet_epochs < 1 or args.top_k < 1:
        raise ArchfitError(f"rank-check needs --k >= 2 (got {args.k}), seeds, --epochs/--supernet-epochs/--top-k >= 1")
    try:
        space_args = json.loads(args.space_args)
    except json.JSONDecodeError as exc:
        raise ArchfitError(f"--space-args {args.space_args!r} is not valid JSON ({exc.msg})") from None
    check_data_args(args.image_size, args.train_subset)
    for rule in args.sampler:
        create_sampler(rule)
    data = load_data(args.data, args.image_size, args.train_subset)
    space = create_space("chain", **{"input_shape": list(data.input_shape), "num_classes": data.num_classes,
                                     **space_args})
    torch.set_num_threads(1)
    archs = stratified_archs(space, args.k, args.seed)
    standalone = TrainConfig(epochs=args.epochs, batch_size=args.batch_size, lr=args.lr)
    supernet = TrainConfig(epochs=args.supernet_epochs, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    result = rank_check(space, data, archs, args.sampler, args.seeds, standalone, supernet, args.out,
                        top_k=args.top_k, log=lambda text: print(text, flush=True))
    atomic_write_json(args.out / "rank_check.json", {"data": data.name, "space": space.spec(), **result})
    write_rank_report(result, args.sampler, args.out, f"archfit rank-check — {data.name}")
    print(f"\n{'predictor':18} {'Kendall tau':>11} {'Spearman rho':>12} {f'top-{args.top_k} prec.':>12}")
    for name in [*args.sampler, "params_baseline", "flops_baseline"]:
        row = result[name]
        print(f"{name:18} {row['kendall_tau']:11.3f} {row['spearman_rho']:12.3f} {row[f'top{args.top_k}_precision']:12.2f}")
    print(f"noise ceiling (seed-to-seed Kendall tau of the ground truth): {result['noise_ceiling']['kendall_tau']:.3f}")
    print(f"results in {args.out / 'rank_check.json'}, report in {args.out / 'report.html'}")
    return 0
