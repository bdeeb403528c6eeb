"""Benchmark: random vs regularized evolution vs Optuna TPE on chain/digits, same trial budget, several seeds.

Runs the real ``archfit search`` job for every (variant, seed), then prints best validation accuracy
(search fidelity and after final training), test accuracy, FLOPs of the chosen model and wall time as
mean ± std, plus each variant's mean test accuracy relative to random search. Writes JSON. Each run
keeps its folder under --runs, so an interrupted benchmark resumes where it stopped.

A variant is a strategy, optionally scored by a weight-sharing supernet instead of training each
candidate: ``evolution+supernet:uniform`` runs ``archfit search --strategy evolution --estimator supernet
--sampler uniform`` with the job's other defaults (supernet epochs, trials); ``evolution+supernet`` keeps the
default sampler too. That is how issue 4's "supernet search vs train-from-scratch search" comparison is
measured (scoring seconds = search time minus supernet training: strategy, extraction, BN recalibration,
validation; for the train estimator, all candidate training):

    python bench/search_default.py --out bench/out/search_default.json
    python bench/search_default.py --strategies evolution,evolution+supernet \
        --out bench/results/supernet_vs_train.json --runs bench/out/supernet_vs_train_runs_v2
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

from archfit.config import SearchConfig
from archfit.io import atomic_write_json
from archfit.run.job import finished_results, has_store, run_search


def variant_settings(variant: str) -> dict[str, str]:
    """``STRATEGY[+supernet[:SAMPLER]]`` → SearchConfig fields (strategy, and estimator/sampler if given)."""
    strategy, _, estimator = variant.partition("+")
    if not estimator:
        return {"strategy": strategy}
    kind, colon, sampler = estimator.partition(":")
    if kind != "supernet" or (colon and not sampler):
        raise SystemExit(f"error: variant {variant!r}: expected STRATEGY, STRATEGY+supernet or STRATEGY+supernet:SAMPLER")
    return {"strategy": strategy, "estimator": "supernet", **({"sampler": sampler} if sampler else {})}


def one_run(variant: str, seed: int, args: argparse.Namespace) -> dict:
    folder = args.runs / f"{variant.replace(':', '_').replace('+', '__')}-seed{seed}"
    results = finished_results(folder)
    if results is not None:
        return results
    config = SearchConfig(**variant_settings(variant), seed=seed, trials=args.trials, epochs=args.epochs,
                          final_epochs=args.final_epochs, data=args.data)
    return run_search(config, folder, resume=has_store(folder), progress=False)


def mean_std(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--strategies", default="random,evolution,optuna:tpe",
                        help="comma-separated variants: STRATEGY, STRATEGY+supernet or STRATEGY+supernet:SAMPLER")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--trials", type=int, default=SearchConfig.trials)
    parser.add_argument("--epochs", type=int, default=SearchConfig.epochs)
    parser.add_argument("--final-epochs", type=int, default=SearchConfig.final_epochs)
    parser.add_argument("--data", default="digits")
    parser.add_argument("--runs", type=Path, default=Path("bench/out/search_default_runs"))
    parser.add_argument("--out", type=Path, default=Path("bench/out/search_default.json"))
    args = parser.parse_args(argv)

    variants = args.strategies.split(",")
    rows: dict[str, list[dict]] = {variant: [] for variant in variants}
    for seed in range(args.seeds):  # seeds outside: the variants of one seed run back to back, under similar load
        for variant in variants:
            results = one_run(variant, seed, args)
            best = results["best"]
            r = {"seed": seed, "search_valid_acc": best["metrics"]["search_valid_acc"],
                 "valid_acc": best["metrics"]["valid_acc"], "test_acc": best["metrics"]["test_acc"],
                 "flops": best["cost"]["flops"], "params": best["cost"]["params"],
                 "latency_ms": best["cost"]["latency_ms"], "hypervolume": results["hypervolume"]["value"],
                 "wall_seconds": results["timing"]["total_seconds"],
                 # where the time went: supernet training (0 without one), scoring candidates, final model
                 "supernet_seconds": (results.get("supernet") or {}).get("train_seconds", 0.0),
                 "final_seconds": results["timing"]["final_seconds"]}
            r["scoring_seconds"] = results["timing"]["search_seconds"] - r["supernet_seconds"]
            rows[variant].append(r)
            print(f"{variant} seed {seed}: test {100 * r['test_acc']:.2f} %, {r['flops'] / 1e6:.3f} MFLOPs, "
                  f"{r['wall_seconds']:.0f} s (supernet {r['supernet_seconds']:.0f}, scoring {r['scoring_seconds']:.0f}, "
                  f"final {r['final_seconds']:.0f})", file=sys.stderr)
    summary = {variant: {"runs": runs, **{key: dict(zip(("mean", "std"), mean_std([r[key] for r in runs])))
                                          for key in runs[0] if key != "seed"}} for variant, runs in rows.items()}
    reference = "random" if "random" in summary else next(iter(summary))
    for stats in summary.values():  # ratios to the reference variant (random search when it ran)
        stats["reference"] = reference
        stats["test_acc_vs_reference"] = stats["test_acc"]["mean"] / summary[reference]["test_acc"]["mean"]
        stats["wall_vs_reference"] = stats["wall_seconds"]["mean"] / summary[reference]["wall_seconds"]["mean"]

    width = max(12, *(len(name) for name in summary))
    header = (f"{'variant':{width}s} {'search valid %':>15s} {'final valid %':>14s} {'test %':>13s} "
              f"{'test ratio':>10s} {'MFLOPs':>13s} {'hypervolume':>12s} {'wall s':>9s} {'wall ratio':>10s}")
    print(f"chain/{args.data}, {args.trials} trials x {args.epochs} epochs, final {args.final_epochs} epochs, "
          f"{args.seeds} seeds (mean ± std); ratios are to {reference}")
    print(header)
    for name, s in summary.items():
        pct = lambda k: f"{100 * s[k]['mean']:.2f}±{100 * s[k]['std']:.2f}"  # noqa: E731
        print(f"{name:{width}s} {pct('search_valid_acc'):>15s} {pct('valid_acc'):>14s} {pct('test_acc'):>13s} "
              f"{s['test_acc_vs_reference']:>10.4f} {s['flops']['mean'] / 1e6:>6.3f}±{s['flops']['std'] / 1e6:.3f} "
              f"{s['hypervolume']['mean']:>12.4g} {s['wall_seconds']['mean']:>5.0f}±{s['wall_seconds']['std']:.0f} "
              f"{s['wall_vs_reference']:>10.2f}")
    for name, s in summary.items():
        print(f"{name:{width}s} wall split (mean s): supernet training {s['supernet_seconds']['mean']:.0f}, "
              f"scoring candidates {s['scoring_seconds']['mean']:.0f}, final model {s['final_seconds']['mean']:.0f}")
    atomic_write_json(args.out, {"settings": {k: str(v) for k, v in vars(args).items()}, "strategies": summary})
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
