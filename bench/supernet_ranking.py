"""How well does each supernet sampling rule rank architectures? Ground truth = stand-alone training.

    python bench/supernet_ranking.py --out bench/results/supernet_ranking.json

For each dataset: K architectures stratified over FLOPs, each trained stand-alone with every seed
(cached in ``<cache>/groundtruth_<data>.json``: reruns train only what is missing); one supernet per
sampling rule (checkpointed in ``<cache>/supernets/``, resumable); each arch scored with inherited,
BN-recalibrated weights. Reports Kendall tau, Spearman rho and top-5 precision against the mean
stand-alone test accuracy, the same for #params and FLOPs as naive predictors, the ground truth's
seed-to-seed tau (noise ceiling), supernet training wall time and per-step throughput vs stand-alone.
``--phase supernets`` trains and scores supernets only (run it while the ground truth is generated).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archfit.data import load_data  # noqa: E402
from archfit.io import atomic_write_json  # noqa: E402
from archfit.space import create_space  # noqa: E402
from archfit.supernet.groundtruth import stratified_archs  # noqa: E402
from archfit.supernet.rank_check import rank_check, rule_scores  # noqa: E402
from archfit.supernet.sampler import SAMPLERS  # noqa: E402
from archfit.train import TrainConfig  # noqa: E402


def run_dataset(name: str, args) -> dict:
    torch.set_num_threads(1)
    data = load_data(name)
    space = create_space("chain", input_shape=list(data.input_shape), num_classes=data.num_classes)
    archs = stratified_archs(space, args.k, seed=0)
    print(f"{name}: {len(archs)} archs stratified over FLOPs", flush=True)
    supernet_config = TrainConfig(epochs=args.supernet_epochs, seed=0)
    folder = args.cache / "supernets"
    log = lambda text: print(f"  {text}", flush=True)  # noqa: E731
    if args.phase == "supernets":
        return {rule: {"train_seconds": rule_scores(space, data, archs, rule, supernet_config, folder, f"{name}_", log)[1]}
                for rule in args.rules}
    result = rank_check(space, data, archs, args.rules, args.seeds, TrainConfig(epochs=args.gt_epochs), supernet_config,
                        folder, prefix=f"{name}_", groundtruth_file=args.cache / f"groundtruth_{name}.json", log=log,
                        cached_only=args.cached_only)
    return result


def print_table(results: dict) -> None:
    print(f"\n{'data':8} {'rule':16} {'tau':>6} {'rho':>6} {'top5':>5} {'train s':>8} {'thru':>5} {'thru paths':>10}")
    for name, rows in results.items():
        for rule, row in rows.items():
            if "kendall_tau" not in row or rule == "noise_ceiling":
                continue
            print(f"{name:8} {rule:16} {row['kendall_tau']:6.3f} {row.get('spearman_rho', float('nan')):6.3f} "
                  f"{row.get('top5_precision', float('nan')):5.2f} {row.get('train_seconds', float('nan')):8.0f} "
                  f"{row.get('throughput_ratio', float('nan')):5.2f} {row.get('throughput_ratio_paths', float('nan')):10.2f}")
    for name, rows in results.items():
        if "ground_truth" not in rows:
            continue
        gt, ceiling = rows["ground_truth"], rows["noise_ceiling"]
        print(f"{name}: ground truth {gt['k']} archs, {gt['runs']} stand-alone runs; noise ceiling tau "
              f"{ceiling['kendall_tau']:.3f} over {ceiling['n_archs']} archs with every seed")
    print("tau/rho: rank correlation with stand-alone test accuracy (mean of seeds); top5: precision of the top 5; "
          "train s: supernet training wall time (s); thru: stand-alone/supernet step time, same batch of 64")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--datasets", nargs="+", default=["digits", "mnist1d"])
    parser.add_argument("--rules", nargs="+", default=list(SAMPLERS))
    parser.add_argument("--k", type=int, default=30, help="architectures in the ground truth")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--gt-epochs", type=int, default=5, help="stand-alone training epochs")
    parser.add_argument("--supernet-epochs", type=int, default=8)
    parser.add_argument("--cache", type=Path, default=Path(__file__).parent / "results")
    parser.add_argument("--phase", choices=["all", "supernets"], default="all")
    parser.add_argument("--cached-only", action="store_true",
                        help="train no stand-alone network: use the ground truth already cached (reported counts)")
    args = parser.parse_args()
    results = {name: run_dataset(name, args) for name in args.datasets}
    summary = {name: {rule: {k: v for k, v in row.items() if k not in ("scores", "archs")} for rule, row in rows.items()
                      if rule != "ground_truth"} for name, rows in results.items()}
    for name, rows in results.items():
        if "ground_truth" in rows:
            summary[name]["ground_truth"] = {k: v for k, v in rows["ground_truth"].items() if k != "archs"}
    atomic_write_json(args.out, summary)
    atomic_write_json(args.out.with_suffix(".details.json"),
                      {"results": results, "settings": {k: str(v) for k, v in vars(args).items()}})
    print_table(summary)
    print(json.dumps({n: {r: row.get("kendall_tau") for r, row in rows.items()} for n, rows in summary.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
