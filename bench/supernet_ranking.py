"""How well does each supernet sampling rule rank architectures? Ground truth = stand-alone training.

    python bench/supernet_ranking.py --out bench/results/supernet_ranking.json

For each dataset: K architectures stratified over FLOPs, each trained stand-alone with every seed
(cached in ``<cache>/groundtruth_<data>.json``: reruns train only what is missing); one supernet per
sampling rule (checkpointed in ``<cache>/supernets/``, resumable); each arch scored with inherited,
BN-recalibrated weights. Reports Kendall tau, Spearman rho and top-5 precision against the mean
stand-alone test accuracy, the same for #params and FLOPs as naive predictors, the ground truth's
seed-to-seed tau (noise ceiling), supernet training wall time and per-step throughput vs stand-alone.
``--phase supernets`` trains and scores supernets only (run it while the ground truth is generated).

``--phase throughput`` measures only the per-step cost of weight sharing, cheaply (no ground truth, no
supernet training; ~1 min per dataset): for each of ``--sets`` seeds it draws the rule's paths and one
training batch of 64, times a supernet step (wall clock and thread CPU time) against the same sub-networks trained stand-alone
(``step_throughput``: interleaved, median of ``--repeats``), rules interleaved within a seed, one torch
thread; it reports the median ratio over the seeds (one path set is a noisy sample of one architecture).

    python bench/supernet_ranking.py --phase throughput --out bench/results/supernet_throughput.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archfit.data import load_data  # noqa: E402
from archfit.io import atomic_write_json  # noqa: E402
from archfit.space import create_space  # noqa: E402
from archfit.supernet.groundtruth import oracle_tau, stratified_archs  # noqa: E402
from archfit.supernet.rank_check import rank_check, rule_scores  # noqa: E402
from archfit.supernet.ranking import step_throughput  # noqa: E402
from archfit.supernet.sampler import SAMPLERS, create_sampler  # noqa: E402
from archfit.supernet.supernet import Supernet  # noqa: E402
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


def run_throughput(name: str, args) -> dict:
    """Median (and range) over seeded path sets of each rule's supernet vs stand-alone step throughput."""
    torch.set_num_threads(1)
    data = load_data(name)
    space = create_space("chain", input_shape=list(data.input_shape), num_classes=data.num_classes)
    batch = TrainConfig().batch_size
    runs: dict[str, list[dict]] = {rule: [] for rule in args.rules}
    for seed in range(args.sets):
        start = seed * batch % (len(data.train) - batch)
        x, y = data.train.x[start:start + batch], data.train.y[start:start + batch]
        for rule in args.rules:  # rules interleaved, so each sees the same load and the same batch
            sampler = create_sampler(rule)
            torch.manual_seed(seed)
            runs[rule].append(step_throughput(Supernet(space, sampler.max_level), sampler, x, y, args.repeats, seed))
        print(f"  {name} set {seed + 1}/{args.sets}: " + ", ".join(
            f"{rule} {runs[rule][-1]['throughput_ratio']:.2f} (cpu {runs[rule][-1]['throughput_ratio_cpu']:.2f})"
            for rule in args.rules), flush=True)
    result = {}
    for rule, rows in runs.items():
        result[rule] = {key: statistics.median(r[key] for r in rows) for key in rows[0]}
        result[rule].update({"sets": len(rows), "repeats": args.repeats, "per_set": rows})
        for key in ("throughput_ratio", "throughput_ratio_cpu"):
            result[rule].update({f"{key}_min": min(r[key] for r in rows), f"{key}_max": max(r[key] for r in rows)})
    return result


def print_throughput(results: dict) -> None:
    print(f"\n{'data':8} {'rule':10} {'wall':>5} {'paths':>5} {'min':>5} {'max':>5} {'cpu':>5} {'paths':>5} {'min':>5} "
          f"{'max':>5} {'sup ms':>7} {'alone ms':>8}")
    for name, rows in results.items():
        for rule, row in rows.items():
            print(f"{name:8} {rule:10} {row['throughput_ratio']:5.2f} {row['throughput_ratio_paths']:5.2f} "
                  f"{row['throughput_ratio_min']:5.2f} {row['throughput_ratio_max']:5.2f} {row['throughput_ratio_cpu']:5.2f} "
                  f"{row['throughput_ratio_paths_cpu']:5.2f} {row['throughput_ratio_cpu_min']:5.2f} "
                  f"{row['throughput_ratio_cpu_max']:5.2f} {1e3 * row['supernet_step_cpu_seconds']:7.1f} "
                  f"{1e3 * row['standalone_step_cpu_seconds']:8.1f}")
    print("stand-alone / supernet step time on the same batch of 64 and paths, median over path sets (min/max over "
          "sets); wall: wall-clock, cpu: this thread's CPU time (not preempted time); paths: the rule's own work left "
          "out; ms: median CPU time per step; 1 torch thread")


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
        oracle = oracle_tau(ceiling["kendall_tau"], len(ceiling["seeds"]))
        print(f"{name}: ground truth {gt['k']} archs, {gt['runs']} stand-alone runs; noise ceiling tau "
              f"{ceiling['kendall_tau']:.3f} over {ceiling['n_archs']} archs with every seed; a perfect predictor "
              f"would reach tau ~{oracle:.3f} against this truth")
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
    parser.add_argument("--phase", choices=["all", "supernets", "throughput"], default="all")
    parser.add_argument("--sets", type=int, default=9, help="throughput phase: seeded path sets / batches per rule")
    parser.add_argument("--repeats", type=int, default=7, help="throughput phase: timed steps per path set (median)")
    parser.add_argument("--cached-only", action="store_true",
                        help="train no stand-alone network: use the ground truth already cached (reported counts)")
    args = parser.parse_args()
    if args.phase == "throughput":
        if args.sets < 1 or args.repeats < 1:
            parser.error(f"--sets {args.sets} and --repeats {args.repeats} must be >= 1")
        throughput = {name: run_throughput(name, args) for name in args.datasets}
        atomic_write_json(args.out, {"results": throughput, "settings": {k: str(v) for k, v in vars(args).items()}})
        print_throughput(throughput)
        return 0
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
