"""Stand-alone ground truth on real images: chain architectures stratified over FLOPs, trained from scratch.

    python bench/groundtruth.py --phase train --seeds 0        # one shard per seed: run two at once
    python bench/groundtruth.py --phase train --seeds 1
    python bench/groundtruth.py --phase report                 # merge shards, spread, seed-to-seed tau

Recipe (one fixed recipe for every arch and seed; chosen so 40 archs x 3 seeds fit in about 2 h of this
2-core machine): Fashion-MNIST resized to 14x14 by area averaging, a seeded class-balanced 5,000-image
training subset, the official 10,000-image test set, SGD-Nesterov, batch 128, peak lr 0.1, cosine, 4 epochs.
Each (arch, seed) result is cached in ``<cache>/groundtruth_fmnist_s<seed>.json`` (atomic after every
run), so an interrupted shard resumes where it stopped and a rerun trains nothing. ``--phase report``
writes the merged cache ``<cache>/groundtruth_fmnist.json`` (what ``rank_check`` reads) and
``<cache>/fmnist_groundtruth.json``: per-arch mean/std test accuracy, the accuracy spread, the
seed-to-seed Kendall tau (noise ceiling) and the tau a perfect predictor is expected to reach.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from archfit.data import load_data
from archfit.io import atomic_write_json, read_json
from archfit.metrics import kendall_tau, spearman_rho
from archfit.space import create_space
from archfit.supernet.groundtruth import (
    FORMAT,
    GroundTruth,
    chain_flops,
    mean_to_mean_tau,
    noise_ceiling,
    oracle_tau,
    split_half_taus,
    stratified_archs,
)
from archfit.train import TrainConfig

DATA, IMAGE_SIZE, SUBSET = "fashion-mnist", 14, 5000
RECIPE = TrainConfig(epochs=4, batch_size=128, lr=0.1)
BAND_CENTER, BAND_WIDTH = 1.5e6, 0.15  # FLOPs budget and +-fraction: where a budgeted search must choose


def band_archs(space, k: int, seed: int = 1, pool: int = 20000) -> list:
    """``k`` distinct archs with FLOPs within +-15 % of ``BAND_CENTER`` (seeded): inside such a band FLOPs
    says little, which is where a budgeted search needs a better ranker."""
    rng = np.random.default_rng(seed)
    found: dict = {}
    for _ in range(pool):
        arch = space.sample(rng)
        if abs(chain_flops(space, arch) / BAND_CENTER - 1) <= BAND_WIDTH:
            found.setdefault(arch.key, arch)
            if len(found) == k:
                break
    return sorted(found.values(), key=lambda a: (chain_flops(space, a), a.key))


def setup(k: int, which: str = "main", band_k: int = 16):
    data = load_data(DATA, IMAGE_SIZE, SUBSET)
    space = create_space("chain", input_shape=list(data.input_shape), num_classes=data.num_classes)
    archs = stratified_archs(space, k, seed=0) if which == "main" else band_archs(space, band_k)
    return data, space, archs


def shard_path(cache: Path, seed: int, part: tuple[int, int], which: str = "main") -> Path:
    stem = f"groundtruth_fmnist_s{seed}" + ("" if which == "main" else f"_{which}")
    return cache / (f"{stem}.json" if part == (0, 1) else f"{stem}_p{part[0]}of{part[1]}.json")


def train_shard(args) -> None:
    torch.set_num_threads(args.threads)
    data, space, archs = setup(args.k, args.set, args.band_k)
    print(f"{data.describe()}; {len(archs)} {args.set} archs; recipe {RECIPE}", flush=True)
    for seed in args.seeds:
        truth = GroundTruth(shard_path(args.cache, seed, args.part, args.set), space, data, RECIPE)
        start = time.time()
        mine = archs[args.part[0]::args.part[1]]  # a seed split over processes: one shard file each
        for i, arch in enumerate(mine):
            hit = truth.cached(arch, seed) is not None
            run = truth.run(arch, seed)
            done = i + 1
            rate = (time.time() - start) / done
            print(f"seed {seed} arch {done}/{len(mine)} {'cached' if hit else f'{run.seconds:5.0f}s'} "
                  f"MFLOPs {run.flops / 1e6:6.2f} test {run.test_acc:.4f}  ETA {rate * (len(mine) - done) / 60:.0f} min",
                  flush=True)


def summarise(table: list, seeds: list[int]) -> dict:
    """Spread, seed noise and seed-to-seed tau of one set's stand-alone results (archs with every seed)."""
    full = [runs for runs in table if len(runs) == len(seeds)]
    means = [float(np.mean([r.test_acc for r in runs])) for runs in full]
    stds = [float(np.std([r.test_acc for r in runs], ddof=1)) if len(runs) > 1 else float("nan") for runs in full]
    flops = [runs[0].flops for runs in full]
    pair_taus = {f"{a}-{b}": kendall_tau([r[i].test_acc for r in full], [r[j].test_acc for r in full])
                 for (i, a), (j, b) in itertools.combinations(enumerate(seeds), 2)}
    ceiling = noise_ceiling(full)
    halves = split_half_taus(full)
    return {
        "k": len(table), "complete_archs": len(full), "seeds": seeds,
        "test_acc_min": min(means, default=float("nan")), "test_acc_max": max(means, default=float("nan")),
        "test_acc_spread_pp": 100 * (max(means) - min(means)) if means else float("nan"),
        "seed_std_pp_median": 100 * float(np.nanmedian(stds)) if stds else float("nan"),
        "seed_to_seed_kendall_tau": ceiling, "seed_pair_kendall_tau": pair_taus,
        "oracle_kendall_tau": oracle_tau(ceiling, len(seeds)),
        # how reproducible the ground truth (the mean over all seeds) is: expected tau against an independent
        # mean of as many seeds, and the measured tau between the means of disjoint halves of the seeds
        "mean_of_seeds_kendall_tau": mean_to_mean_tau(ceiling, len(seeds)),
        "split_half_kendall_tau": halves, "split_half_expected_tau": mean_to_mean_tau(ceiling, len(seeds) // 2),
        "flops_kendall_tau": kendall_tau(flops, means), "flops_spearman_rho": spearman_rho(flops, means),
        "train_seconds_total": float(sum(r.seconds for runs in table for r in runs)),
        "archs": [{"arch": runs[0].arch, "flops": runs[0].flops, "params": runs[0].params,
                   "test_acc": [r.test_acc for r in runs], "valid_acc": [r.valid_acc for r in runs]} for runs in full],
    }


def halves_text(row: dict) -> str:
    """Split-half taus (measured) beside what the noise model expects for means of half the seeds."""
    taus = row["split_half_kendall_tau"]
    if not taus or len(row["seeds"]) < 4:
        return "needs 4 seeds"
    return f"{np.mean(list(taus.values())):.3f} (expected {row['split_half_expected_tau']:.3f})"


def report(args) -> dict:
    entries: dict = {}
    for path in sorted(args.cache.glob("groundtruth_fmnist_s*.json")):
        entries.update(read_json(path, "a ground-truth shard")["entries"])
    merged = args.cache / "groundtruth_fmnist.json"
    atomic_write_json(merged, {"format": FORMAT, "entries": entries})
    seeds = sorted({int(s) for s in args.seeds})
    result: dict = {"recipe": RECIPE.__dict__, "band": {"center_flops": BAND_CENTER, "width": BAND_WIDTH}}
    print("| set | archs | seeds | test acc min–max % | spread pp | median seed std pp | seed-to-seed tau "
          "| mean-of-seeds tau (expected) | split-half tau (measured) | oracle tau | FLOPs tau | train s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for which in ("main", "band"):
        data, space, archs = setup(args.k, which, args.band_k)
        result["data"] = data.name
        table = GroundTruth(merged, space, data, RECIPE).collect(archs, seeds, cached_only=True)
        row = result[which] = summarise(table, seeds)
        print(f"| {which} | {row['complete_archs']}/{row['k']} | {len(seeds)} | {100 * row['test_acc_min']:.2f}–"
              f"{100 * row['test_acc_max']:.2f} | {row['test_acc_spread_pp']:.2f} | {row['seed_std_pp_median']:.2f} "
              f"| {row['seed_to_seed_kendall_tau']:.3f} | {row['mean_of_seeds_kendall_tau']:.3f} "
              f"| {halves_text(row)} | {row['oracle_kendall_tau']:.3f} | {row['flops_kendall_tau']:.3f} "
              f"| {row['train_seconds_total']:.0f} |")
    atomic_write_json(args.cache / "fmnist_groundtruth.json", result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=["train", "report"], default="report")
    parser.add_argument("--k", type=int, default=40)
    parser.add_argument("--set", choices=["main", "band"], default="main",
                        help="main: k archs stratified over FLOPs; band: --band-k archs within +-15%% of 1.5M FLOPs")
    parser.add_argument("--band-k", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--part", default="0/1", help="I/N: train only archs I, I+N, ... (run N processes on one seed)")
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / "results" / "fmnist")
    args = parser.parse_args()
    i, _, n = args.part.partition("/")
    args.part = (int(i), int(n))
    if not 0 <= args.part[0] < args.part[1]:
        parser.error(f"--part {i}/{n} needs 0 <= I < N")
    args.cache.mkdir(parents=True, exist_ok=True)
    train_shard(args) if args.phase == "train" else report(args)


if __name__ == "__main__":
    main()
