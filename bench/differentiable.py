"""Differentiable methods on the NAS-Bench-201 space, searched on Fashion-MNIST at a small CPU size.

    nice -n 10 python bench/differentiable.py --methods dartspt,pcdarts,gdas,sharpdarts,darts --seeds 0,1,2

Per (method, seed): search (C=8, one cell per stage, 16x16 inputs, a few thousand images), derive a cell,
then (1) look its CIFAR-10 test accuracy up in the NAS-Bench-201 table (a transfer check: it shows the
collapse to skip connections and its cure), (2) train it stand-alone on Fashion-MNIST for a few epochs
and report test accuracy, (3) count its skip / none edges. Random search gets, per seed, the mean search
wall time of the methods on that seed (stand-alone short training, best by validation accuracy).
Resumable: every (method, seed) result is cached in the JSON cache as soon as it exists.

Two more parts:
    python bench/differentiable.py --part lut          # ProxylessNAS table: predicted vs measured, 30 chains
    python bench/differentiable.py --part darts-space  # all 725 NAS-Bench-301 genotypes parse, build, count
    python bench/differentiable.py --part darts-search --methods darts,pcdarts --train-subset 500 --epochs 1
                                                       # DARTS-space searches; derived genotypes train
Each part merges its result into the same JSON (``--out``) under its own key.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archfit.data import load_data
from archfit.differentiable import DiffSettings, differentiable_search
from archfit.io import atomic_write_json
from archfit.space import create_space
from archfit.space.nb201 import EDGE_NAMES
from archfit.train.trainer import TrainConfig, accuracy, train

TABLE = ROOT.parent / "shared" / "nasbench201" / "nb201_cifar10.csv"
# Per-method settings at this scale; arch_lr is 10x DARTS' 3e-4 because the search has ~100x fewer steps.
METHOD_PARAMS = {"pcdarts": {"k": 4}, "dartspt": {"tune_steps": 10}}
EVAL_SAMPLES = 500  # arch-split images per supernet accuracy (DARTS-PT's selection)


class Table:
    """CIFAR-10 test accuracy per isomorphism class of the NAS-Bench-201 table, and each row's value."""

    def __init__(self, path: Path, space) -> None:
        self.by_class: dict[str, float] = {}
        self.rows: list[float] = []
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                value = float(row["cifar10_test_acc"])
                self.rows.append(value)
                self.by_class.setdefault(row["isomorphism_class"], value)
        self.space = space
        self.sorted_rows = np.sort(np.array(self.rows))

    def lookup(self, arch) -> float:
        return self.by_class[self.space.isomorphism_class(arch)]

    def top_percent(self, value: float) -> float:
        """Share of table rows (encodings) with a higher accuracy, in %: 5 means 'in the top 5 %'."""
        return 100.0 * float((self.sorted_rows > value).sum()) / len(self.sorted_rows)


def standalone(space, arch, data, seed: int, epochs: int) -> tuple[float, float]:
    """(valid accuracy, test accuracy) of ``arch`` trained from scratch for ``epochs`` on the train split."""
    torch.manual_seed(seed)
    model = space.build(arch)
    train(model, data.train, TrainConfig(epochs=epochs, batch_size=64, lr=0.05, seed=seed))
    return accuracy(model, data.valid), accuracy(model, data.test)


def parse_method(spec: str) -> tuple[str, dict[str, float], int]:
    """``name`` or ``name[key=value,...]`` -> (name, method parameters over ``METHOD_PARAMS``, eval_samples).

    A bracketed spec is a variant: its own cache key and table row beside the default's cached runs; the key
    ``eval_samples`` sets the arch-split images per supernet accuracy, every other key is a method parameter
    (e.g. ``dartspt[tune_steps=60,eval_samples=1500]``)."""
    match = re.fullmatch(r"([a-z0-9_-]+)(?:\[([^\]]*)\])?", spec)
    if match is None:
        raise ValueError(f"--methods entry {spec!r}: expected NAME or NAME[key=value,...]")
    name, params, eval_samples = match[1], dict(METHOD_PARAMS.get(match[1], {})), EVAL_SAMPLES
    for item in filter(None, (match[2] or "").split(",")):
        key, _, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            raise ValueError(f"--methods entry {spec!r}: {item!r} is not key=number") from None
        if key == "eval_samples":
            eval_samples = int(number)
        else:
            params[key] = int(number) if number.is_integer() else number
    return name, params, eval_samples


def run_method(spec: str, seed: int, space, data, table: Table, args) -> dict:
    method, params, eval_samples = parse_method(spec)
    settings = DiffSettings(epochs=args.epochs, batch_size=64, arch_lr=args.arch_lr, seed=seed,
                            eval_samples=eval_samples, warmup_epochs=args.warmup_epochs, method_params=params)
    outcome = differentiable_search(space, data, method, settings)
    ops = outcome.extras["derived_ops"]
    _, test = standalone(space, outcome.arch, data, seed, args.final_epochs)
    c10 = table.lookup(outcome.arch)
    return {"arch": space.format(outcome.arch), "derived_ops": dict(zip(EDGE_NAMES, ops)), "nb201_c10_acc": c10,
            "top_percent": table.top_percent(c10), "fmnist_test_acc": test,
            "skip_edges": ops.count("skip_connect"), "none_edges": ops.count("none"), "wall_s": outcome.wall_s,
            "repaired_edges": outcome.extras["repaired_edges"],
            "supernet_valid_acc": outcome.extras["supernet_valid_acc"], "final_alpha": outcome.alpha_history[-1]}


def run_random(seed: int, budget_s: float, space, data, table: Table, args) -> dict:
    """Random search under a wall-time budget: short stand-alone training, best by validation accuracy."""
    rng, begun, best, tried = np.random.default_rng(seed), time.perf_counter(), None, 0
    while tried == 0 or time.perf_counter() - begun < budget_s:
        arch = space.sample(rng)
        valid, _ = standalone(space, arch, data, seed, args.random_epochs)
        tried += 1
        if best is None or valid > best[0]:
            best = (valid, arch)
    wall = time.perf_counter() - begun
    arch = best[1]
    ops = [str(arch[name]) for name in EDGE_NAMES]
    _, test = standalone(space, arch, data, seed, args.final_epochs)
    c10 = table.lookup(arch)
    return {"arch": space.format(arch), "nb201_c10_acc": c10, "top_percent": table.top_percent(c10),
            "fmnist_test_acc": test, "skip_edges": ops.count("skip_connect"), "none_edges": ops.count("none"),
            "wall_s": wall, "budget_s": budget_s, "archs_tried": tried}


PARTS = ("darts_space", "darts_search", "lut", "proxyless")  # keys of the other parts in the result JSON


def merge_result(path: Path, key: str, value: dict) -> None:
    """Write one part's result under ``key`` of the result JSON, keeping every other part's."""
    result = json.loads(path.read_text()) if path.exists() else {}
    result[key] = value
    atomic_write_json(path, result)


def summary(records: list[dict], key: str) -> str:
    values = [r[key] for r in records]
    if len(values) == 1:
        return f"{values[0]:.2f}"
    return f"{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}"


def lut_part(args) -> None:
    """Lookup-table latency (fixed part + sum of per-block entries) vs the measured latency of random chain
    networks, batch 1, eager PyTorch, 1 thread. The machine is shared, so table and networks are measured
    in alternating rounds and each entry / network is the median over rounds (load drifts cancel): with
    --lut-rounds 5, the table is what ``measure_table`` gives ProxylessNAS (5 passes), and each round's own
    error is what a one-pass table would give. Two clocks of ``archfit.cost.latency`` (``--latency-clock``): the
    wall clock and the timing thread's CPU time (what the networks cost on an idle core; its entries are means of
    the timed calls, networks are medians as every archfit measurement). The load average is recorded before
    and after."""
    import os

    from archfit.cost.latency import measure_latency
    from archfit.differentiable.chain_supernet import ChainSupernet
    from archfit.differentiable.latency_table import LatencyTable, measure_table

    space = create_space("chain", input_shape=[1, 16, 16], num_classes=10, widths=[1.0])
    torch.manual_seed(0)
    supernet = ChainSupernet(space).eval()
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(args.lut_archs)]
    models = [space.build(arch).eval() for arch in archs]
    clocks = ("wall", "cpu")
    tables = {c: [] for c in clocks}
    measured = {c: [] for c in clocks}
    begun, load_before = time.perf_counter(), os.getloadavg()
    for r in range(args.lut_rounds):
        for clock in clocks:  # alternating clocks and table / networks within a round
            tables[clock].append(measure_table(supernet, "torch", threads=1, min_seconds=0.05, clock=clock, rounds=1))
            measured[clock].append([measure_latency(m, space.input_shape, threads=1, min_seconds=0.1,
                                                    clock=clock).median_ms for m in models])
        print(f"    round {r + 1}/{args.lut_rounds} done at {time.perf_counter() - begun:.0f}s", flush=True)
    result = {"space": space.spec(), "runtime": "torch (eager, inference_mode)", "threads": 1, "batch": 1,
              "rounds": args.lut_rounds, "archs": len(archs), "clocks": {}}
    print("| clock | archs | rounds | table entries | median abs error % (sum of entries) | median abs error % "
          "(call overhead once) | p90 % | per-round medians % | mean signed % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for clock in clocks:
        runs = tables[clock]
        table = LatencyTable("torch", 1, float(np.median([t.fixed_ms for t in runs])),
                             {k: float(np.median([t.entries[k] for t in runs])) for k in runs[0].entries},
                             float(np.median([t.call_ms for t in runs])), clock)
        net_ms = np.median(np.array(measured[clock]), axis=0)
        rows = []
        for arch, ms in zip(archs, net_ms):
            predicted, naive = table.predict(supernet, arch), table.predict(supernet, arch, per_call=False)
            rows.append({"arch": dict(arch), "blocks": len(space.plan(arch)), "predicted_ms": predicted,
                         "naive_sum_ms": naive, "measured_ms": float(ms),
                         "abs_error_pct": 100 * abs(predicted - ms) / ms, "signed_error_pct": 100 * (predicted - ms) / ms,
                         "naive_abs_error_pct": 100 * abs(naive - ms) / ms})
        per_round = [float(np.median([100 * abs(t.predict(supernet, a) - m) / m for a, m in zip(archs, ms)]))
                     for t, ms in zip(runs, measured[clock])]
        entry = {"table_entries": len(table.entries), "fixed_ms": table.fixed_ms, "call_ms": table.call_ms,
                 "median_abs_error_pct": float(np.median([r["abs_error_pct"] for r in rows])),
                 "p90_abs_error_pct": float(np.percentile([r["abs_error_pct"] for r in rows], 90)),
                 "naive_median_abs_error_pct": float(np.median([r["naive_abs_error_pct"] for r in rows])),
                 "per_round_median_abs_error_pct": per_round,
                 "mean_signed_error_pct": float(np.mean([r["signed_error_pct"] for r in rows])),
                 "measured_ms_range": [float(net_ms.min()), float(net_ms.max())], "rows": rows}
        result["clocks"][clock] = entry
        print(f"| {clock} | {len(rows)} | {args.lut_rounds} | {len(table.entries)} | "
              f"{entry['naive_median_abs_error_pct']:.1f} | {entry['median_abs_error_pct']:.1f} | "
              f"{entry['p90_abs_error_pct']:.1f} | {', '.join(f'{v:.1f}' for v in per_round)} | "
              f"{entry['mean_signed_error_pct']:+.1f} |")
    result["seconds"] = time.perf_counter() - begun
    result["load_average_1_5_15"] = {"before": list(load_before), "after": list(os.getloadavg())}
    print(f"\n{result['seconds']:.0f} s; load average (1, 5, 15 min) before {load_before}, after {os.getloadavg()}")
    merge_result(args.out, "lut", result)


def darts_space_part(args) -> None:
    """Every genotype of NASLib's NAS-Bench-301 file: parse, write back identically, build (meta device),
    count FLOPs and params, and compare with NASLib's own flops/params columns by rank correlation."""
    from scipy.stats import spearmanr

    from archfit.cost.flops import count_flops, count_params

    records = json.loads(args.naslib.read_text())["cifar10"]
    space = create_space("darts", input_shape=[3, 32, 32], num_classes=10, channels=32, layers=8)
    ours_f, ours_p, theirs_f, theirs_p, failures, begun = [], [], [], [], [], time.perf_counter()
    counts = {"parsed": 0, "round_trip": 0, "valid": 0, "built_and_counted": 0}
    for text, entry in records.items():
        try:
            arch = space.parse(text)
            counts["parsed"] += 1
            counts["round_trip"] += space.format(arch) == text
            counts["valid"] += space.is_valid(space.validate(arch))
            with torch.device("meta"):
                model = space.build(arch)
            flops, params = count_flops(model, space.input_shape) / 1e6, count_params(model) / 1e6
        except Exception as exc:  # noqa: BLE001 - a benchmark counts failures instead of stopping
            failures.append({"genotype": text, "error": f"{type(exc).__name__}: {exc}"[:200]})
            continue
        counts["built_and_counted"] += 1
        ours_f.append(flops)
        ours_p.append(params)
        theirs_f.append(entry["flops"]["score"])
        theirs_p.append(entry["params"]["score"])
    result = {"genotypes": len(records), **counts, "failures": failures[:10],
              "space": space.spec(), "seconds": time.perf_counter() - begun,
              "spearman_flops": float(spearmanr(ours_f, theirs_f)[0]),
              "spearman_params": float(spearmanr(ours_p, theirs_p)[0]),
              "median_ratio_flops": float(np.median(np.array(ours_f) / np.array(theirs_f))),
              "median_ratio_params": float(np.median(np.array(ours_p) / np.array(theirs_p))),
              "ours_mflops_range": [min(ours_f), max(ours_f)], "ours_mparams_range": [min(ours_p), max(ours_p)]}
    print("| genotypes | parsed | written back identically | built + counted | Spearman FLOPs | Spearman params | "
          "median ratio FLOPs (ours / NASLib) | median ratio params | seconds |")
    print("|---|---|---|---|---|---|---|---|---|")
    print(f"| {len(records)} | {counts['parsed']} | {counts['round_trip']} | {counts['built_and_counted']} | "
          f"{result['spearman_flops']:.4f} | {result['spearman_params']:.4f} | {result['median_ratio_flops']:.3f} | "
          f"{result['median_ratio_params']:.3f} | {result['seconds']:.0f} |")
    merge_result(args.out, "darts_space", result)


def darts_search_part(args) -> None:
    """Searches on the DARTS cell space (tiny: C=4, 5 cells, Fashion-MNIST 16x16): each derived genotype is
    built and trained stand-alone for ``--final-epochs``; its test accuracy beside a random genotype's."""
    data = load_data("fashion-mnist", image_size=16, train_subset=args.train_subset)
    space = create_space("darts", input_shape=list(data.input_shape), num_classes=data.num_classes, channels=4,
                         layers=5)
    rows = {}
    for method in args.methods.split(","):
        settings = DiffSettings(epochs=args.epochs, batch_size=64, arch_lr=args.arch_lr, seed=0, eval_samples=250,
                                method_params=METHOD_PARAMS.get(method, {}))
        outcome = differentiable_search(space, data, method, settings)
        _, test = standalone(space, outcome.arch, data, 0, args.final_epochs)
        rows[method] = {"genotype": space.format(outcome.arch), "search_s": outcome.wall_s, "fmnist_test_acc": test,
                        "params": sum(p.numel() for p in space.build(outcome.arch).parameters())}
        print(f"    {method}: {rows[method]}", flush=True)
    arch = space.sample(np.random.default_rng(0))
    _, test = standalone(space, arch, data, 0, args.final_epochs)
    rows["random genotype"] = {"genotype": space.format(arch), "search_s": 0.0, "fmnist_test_acc": test,
                               "params": sum(p.numel() for p in space.build(arch).parameters())}
    print("| method | derived genotype (NASLib compact) | search s | params | FMNIST test acc % |")
    print("|---|---|---|---|---|")
    for method, row in rows.items():
        print(f"| {method} | `{row['genotype']}` | {row['search_s']:.0f} | {row['params']} | "
              f"{100 * row['fmnist_test_acc']:.1f} |")
    merge_result(args.out, "darts_search", {"space": space.spec(), "train_subset": args.train_subset,
                                            "epochs": args.epochs, "final_epochs": args.final_epochs,
                                            "arch_lr": args.arch_lr, "rows": rows})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["search", "lut", "darts-space", "darts-search"], default="search")
    parser.add_argument("--lut-archs", type=int, default=30)
    parser.add_argument("--lut-rounds", type=int, default=5, help="alternating table / network timing rounds")
    parser.add_argument("--naslib", type=Path, default=ROOT.parent / "shared" / "naslib" / "zc_nasbench301_cifar10.json")
    parser.add_argument("--methods", default="dartspt,pcdarts,gdas,sharpdarts,darts",
                        help="comma-separated NAME or NAME[key=value,...] (a variant: its own rows, e.g. "
                             "dartspt[tune_steps=60,eval_samples=1500])")
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--train-subset", type=int, default=3000)
    parser.add_argument("--epochs", type=int, default=6, help="search epochs")
    parser.add_argument("--arch-lr", type=float, default=3e-3)
    parser.add_argument("--warmup-epochs", type=int, default=0,
                        help="search epochs that train the weights only (PC-DARTS: 15 of 50)")
    parser.add_argument("--final-epochs", type=int, default=4, help="stand-alone Fashion-MNIST training epochs")
    parser.add_argument("--random-epochs", type=int, default=1, help="epochs per random-search candidate")
    parser.add_argument("--no-random", action="store_true")
    parser.add_argument("--summary-only", action="store_true", help="tabulate the cache; run nothing missing")
    parser.add_argument("--table", type=Path, default=TABLE)
    parser.add_argument("--cache", type=Path, default=ROOT / "bench" / "results" / "differentiable_cache.json")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "differentiable.json")
    args = parser.parse_args()
    for method in re.split(r",(?![^\[]*\])", args.methods):
        try:
            parse_method(method)  # a bad entry stops here, before anything loads or runs
        except ValueError as exc:
            parser.error(str(exc))
    torch.set_num_threads(1)
    if args.part != "search":
        {"lut": lut_part, "darts-space": darts_space_part, "darts-search": darts_search_part}[args.part](args)
        return
    data = load_data("fashion-mnist", image_size=16, train_subset=args.train_subset)
    space = create_space("nb201", input_shape=list(data.input_shape), num_classes=data.num_classes, channels=8,
                         cells=1)
    table = Table(args.table, space)
    cache = json.loads(args.cache.read_text()) if args.cache.exists() else {}
    config = {k: v for k, v in vars(args).items()
              if k not in ("methods", "seeds", "cache", "out", "no_random", "part", "lut_archs", "lut_rounds", "naslib",
                           "summary_only")}
    if not args.warmup_epochs:
        config.pop("warmup_epochs")  # caches made before the flag existed had none
    config = json.loads(json.dumps(config, default=str))
    if cache.get("config", config) != config:
        raise SystemExit(f"{args.cache} was made with {cache['config']}; use another --cache for {config}")
    cache["config"] = config
    methods, seeds = re.split(r",(?![^\[]*\])", args.methods), [int(s) for s in args.seeds.split(",")]
    for seed in seeds:  # interleaved: every method of a seed before the next seed (times compare)
        for method in methods:
            key = f"{method}/{seed}"
            if key not in cache and not args.summary_only:
                print(f"[{time.strftime('%H:%M:%S')}] {key} ...", flush=True)
                cache[key] = run_method(method, seed, space, data, table, args)
                atomic_write_json(args.cache, cache)
                print(f"    {cache[key]['arch']} c10={cache[key]['nb201_c10_acc']:.2f} "
                      f"top={cache[key]['top_percent']:.1f}% wall={cache[key]['wall_s']:.0f}s", flush=True)
        if not args.no_random and f"random/{seed}" not in cache and not args.summary_only:
            walls = [cache[f"{m}/{seed}"]["wall_s"] for m in methods if f"{m}/{seed}" in cache]
            cache[f"random/{seed}"] = run_random(seed, statistics.mean(walls), space, data, table, args)
            atomic_write_json(args.cache, cache)
    valid_rows = [v for v in table.rows]
    result = {"config": config, "table": {"path": str(args.table), "optimum": max(valid_rows),
                                          "top5_threshold": float(np.percentile(valid_rows, 95)),
                                          "mean": float(np.mean(valid_rows))},
              "methods": {}, "random_baseline": None}
    print("\n| method | seeds | NB201 CIFAR-10 acc % (mean ± sd) | per seed | top-% of table | FMNIST test acc "
          "| skip / none edges | search s |")
    print("|---|---|---|---|---|---|---|---|")
    for method in [*methods, *([] if args.no_random else ["random"])]:
        records = [cache[f"{method}/{s}"] for s in seeds if f"{method}/{s}" in cache]
        if not records:
            continue
        entry = {key: [r[key] for r in records] for key in ("nb201_c10_acc", "top_percent", "fmnist_test_acc",
                                                            "skip_edges", "none_edges", "wall_s", "arch")}
        entry["seeds"] = [s for s in seeds if f"{method}/{s}" in cache]
        if method == "random":
            entry["archs_tried"] = [r["archs_tried"] for r in records]
            result["random_baseline"] = entry
        else:
            result["methods"][method] = entry
        print(f"| {method} | {len(records)} | {summary(records, 'nb201_c10_acc')} | "
              f"{', '.join(f'{v:.2f}' for v in entry['nb201_c10_acc'])} | "
              f"{', '.join(f'{v:.1f}' for v in entry['top_percent'])} | "
              f"{summary([{'a': 100 * r['fmnist_test_acc']} for r in records], 'a')} | "
              f"{', '.join(f'{s}/{n}' for s, n in zip(entry['skip_edges'], entry['none_edges']))} | "
              f"{summary(records, 'wall_s')} |")
    print(f"\ntable: optimum {result['table']['optimum']:.2f} %, top-5 % threshold "
          f"{result['table']['top5_threshold']:.2f} %, mean {result['table']['mean']:.2f} %")
    previous = json.loads(args.out.read_text()) if args.out.exists() else {}
    atomic_write_json(args.out, {**{k: previous[k] for k in PARTS if k in previous}, **result})


if __name__ == "__main__":
    main()
