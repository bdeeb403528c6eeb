"""Supernet search vs trained search on Fashion-MNIST: same budget, strategy, trials and final recipe, 3 seeds.

    python bench/fmnist_supernet_vs_train.py                       # runs what is not cached, then the table
    python bench/fmnist_supernet_vs_train.py --summarize           # only the table of what is cached

Both arms are the real ``archfit search`` job (``archfit.run.job.run_search``, what the CLI runs) on
Fashion-MNIST 14x14 with the 5,000-image class-balanced training subset, chain space, ``--max-flops 1.5M``
(the ground truth's band centre, where FLOPs says little), evolution over the same number of distinct
trials, and the chosen arch trained from scratch by the same recipe (``--final-epochs``, batch, lr, seed)
and measured on the official 10,000-image test set:

* ``train``: every candidate trained ``--epochs`` epochs, scored on the validation split;
* ``supernet``: one supernet (``--sampler``, ``--supernet-epochs``), candidates scored by inherited,
  BN-recalibrated weights on the same validation split; its random paths range over the whole space;
* ``supernet-budget``: the same, with ``--supernet-paths budget``: random paths only among archs within
  the FLOPs budget (the only ones the search can choose).

The arms are interleaved (seed 0 train, seed 0 supernet, seed 1 train, ...) so load drift on this shared
machine hits both. Each (arm, seed) keeps its run folder under ``--runs`` (a killed search resumes from its
store / supernet checkpoint) and, when done, its summary in ``--cache`` (atomic), so reruns run nothing.
Reported: final test accuracy per seed, the paired mean difference (supernet - train) with a t interval,
wall seconds (total; search vs final training) and the wall ratio supernet / train, plus process CPU
seconds (less sensitive to the other jobs on the machine).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from archfit.benchmark.interleaved import (
    add_cache_arguments,
    cache_row,
    cached_row,
    cached_rows,
    run_interleaved,
)
from archfit.config import SearchConfig
from archfit.io import atomic_write_json
from archfit.metrics import t_interval
from archfit.run.job import finished_results, has_store, run_search

ARMS = ("train", "supernet", "supernet-budget")
ESTIMATOR = {"train": ("train", "all"), "supernet": ("supernet", "all"), "supernet-budget": ("supernet", "budget")}
HERE = Path(__file__).resolve().parent


def settings(args: argparse.Namespace) -> dict:
    """The SearchConfig fields shared by both arms (the arm adds ``estimator`` and ``seed``)."""
    return {"data": "fashion-mnist", "image_size": 14, "train_subset": 5000, "space": "chain",
            "strategy": args.strategy, "trials": args.trials, "epochs": args.epochs,
            "final_epochs": args.final_epochs, "batch_size": 128, "lr": 0.1, "max_flops": args.max_flops,
            "sampler": args.sampler, "supernet_epochs": args.supernet_epochs, "threads": 1}


def one_run(arm: str, seed: int, args: argparse.Namespace) -> dict:
    """One (arm, seed): cached summary, or run (resuming a killed run's folder) and cache the summary."""
    key = f"{arm}/seed{seed}"
    done = cached_row(args.cache, key)
    if done is not None:
        return done
    folder = args.runs / f"{arm}-seed{seed}"
    estimator, paths = ESTIMATOR[arm]
    config = SearchConfig(**settings(args), estimator=estimator, supernet_paths=paths, seed=seed)
    resumed = has_store(folder)
    wall, cpu = time.perf_counter(), time.process_time()
    results = finished_results(folder)  # finished but not summarised (killed in between): its own timing
    if results is not None:
        cpu = float("nan")
    else:  # a killed run resumes from its store (and supernet checkpoint); its timing then covers the rest only
        results = run_search(config, folder, resume=resumed, progress=False)
        cpu = time.process_time() - cpu
    wall = time.perf_counter() - wall
    best, timing = results["best"], results["timing"]
    supernet = (results.get("supernet") or {}).get("train_seconds", 0.0)
    row = {"arm": arm, "seed": seed, "arch": best["arch"], "flops": best["cost"]["flops"],
           "params": best["cost"]["params"], "search_valid_acc": best["metrics"].get("search_valid_acc"),
           "valid_acc": best["metrics"]["valid_acc"], "test_acc": best["metrics"]["test_acc"],
           "wall_seconds": timing["total_seconds"], "search_seconds": timing["search_seconds"],
           "final_seconds": timing["final_seconds"], "supernet_seconds": supernet,
           # seconds spent estimating candidates (training them / scoring with inherited weights); the rest of
           # the search is data loading, space and budget checks (the same in both arms)
           "candidate_seconds": sum(t.get("seconds") or 0.0 for t in results.get("trials", [])),
           "cpu_seconds": cpu, "resumed": resumed, "finished_utc": time.strftime("%H:%M:%S", time.gmtime())}
    cache_row(args.cache, key, row)
    print(f"{arm} seed {seed}: test {100 * row['test_acc']:.2f} %, {row['flops'] / 1e6:.3f} MFLOPs, wall "
          f"{row['wall_seconds']:.0f} s (search {row['search_seconds']:.0f}, final {row['final_seconds']:.0f}), "
          f"cpu {cpu:.0f} s (this call's wall {wall:.0f} s)", flush=True)
    return row


def summarize(rows: dict[str, list[dict]], arm: str = "supernet") -> dict:
    """``arm`` against ``train`` over the seeds both finished: means, paired difference, wall and CPU ratios."""
    seeds = sorted({r["seed"] for r in rows["train"]} & {r["seed"] for r in rows[arm]})
    by = {a: {r["seed"]: r for r in rows[a]} for a in ("train", arm)}
    out: dict = {"paired_seeds": seeds, "arm": arm}
    for a in ("train", arm):
        rs = [by[a][s] for s in seeds]
        out[a] = {k: statistics.fmean([r[k] for r in rs]) if rs else float("nan")
                  for k in ("test_acc", "valid_acc", "flops", "wall_seconds", "search_seconds", "final_seconds",
                            "supernet_seconds", "candidate_seconds", "cpu_seconds")}
        out[a]["test_acc_sd"] = statistics.stdev([r["test_acc"] for r in rs]) if len(rs) > 1 else float("nan")
    diffs = [100 * (by[arm][s]["test_acc"] - by["train"][s]["test_acc"]) for s in seeds]
    lo, hi = t_interval(diffs)
    out["diff_pp"] = {"per_seed": diffs, "mean": statistics.fmean(diffs) if diffs else float("nan"),
                      "ci90": [lo, hi], "interval": "paired Student t, 90 %"}
    ratios = [by[arm][s]["wall_seconds"] / by["train"][s]["wall_seconds"] for s in seeds]
    cpu_ratios = [by[arm][s]["cpu_seconds"] / by["train"][s]["cpu_seconds"] for s in seeds]
    out["wall_ratio"] = {"per_seed": ratios, "of_means": out[arm]["wall_seconds"] / out["train"]["wall_seconds"]
                         if seeds else float("nan")}
    out["cpu_ratio"] = {"per_seed": cpu_ratios, "of_means": out[arm]["cpu_seconds"] / out["train"]["cpu_seconds"]
                        if seeds else float("nan")}
    return out


def table(rows: dict[str, list[dict]], summaries: dict[str, dict]) -> str:
    lines = [("| arm | seed | chosen MFLOPs | search valid % | final test % | wall s | search s (supernet / candidates) "
              "| final s | CPU s |"), "|---|---|---|---|---|---|---|---|---|"]
    for seed in sorted({r["seed"] for arm in ARMS for r in rows[arm]}):
        for arm in ARMS:
            for r in (r for r in rows[arm] if r["seed"] == seed):
                sv = r["search_valid_acc"]
                lines.append(f"| {arm} | {seed} | {r['flops'] / 1e6:.3f} | {'-' if sv is None else f'{100 * sv:.2f}'} | "
                             f"{100 * r['test_acc']:.2f} | {r['wall_seconds']:.0f} | {r['search_seconds']:.0f} "
                             f"({r['supernet_seconds']:.0f} / {r['candidate_seconds']:.0f}) | {r['final_seconds']:.0f} | {r['cpu_seconds']:.0f} |")
    for s in summaries.values():
        if not s["paired_seeds"]:
            continue
        arm, d = s["arm"], s["diff_pp"]
        lines += ["", "| arm | seeds | final test % (mean ± sd) | wall s | search s | final s | CPU s |",
                  "|---|---|---|---|---|---|---|"]
        for a in ("train", arm):
            m = s[a]
            lines.append(f"| {a} | {len(s['paired_seeds'])} | {100 * m['test_acc']:.2f} ± {100 * m['test_acc_sd']:.2f} | "
                         f"{m['wall_seconds']:.0f} | {m['search_seconds']:.0f} | {m['final_seconds']:.0f} | "
                         f"{m['cpu_seconds']:.0f} |")
        lines.append(f"\n{arm} - train: {d['mean']:+.2f} pp, 90% CI [{d['ci90'][0]:+.2f}, {d['ci90'][1]:+.2f}] "
                     f"(per seed {', '.join(f'{x:+.2f}' for x in d['per_seed'])}); wall ratio {arm}/train "
                     f"{s['wall_ratio']['of_means']:.2f} (per seed {', '.join(f'{x:.2f}' for x in s['wall_ratio']['per_seed'])}); "
                     f"CPU ratio {s['cpu_ratio']['of_means']:.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--strategy", default="evolution")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=2, help="training epochs per candidate (train arm)")
    parser.add_argument("--final-epochs", type=int, default=4, help="the chosen arch, both arms")
    parser.add_argument("--max-flops", default="1.5M")
    parser.add_argument("--sampler", default="uniform")
    parser.add_argument("--supernet-epochs", type=int, default=6)
    parser.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS))
    # v2: measured after the chain space's closed-form cost (session 7), which removed ~90 s per search of
    # meta-device FLOPs counting from both arms; v3: after predictions in chunks of 64 instead of 512 (session 8,
    # archfit.train.trainer.EVAL_BATCH), which speeds every evaluation. Earlier caches are kept as the record.
    add_cache_arguments(parser, HERE / "results", "fmnist_supernet_vs_train", "_v3")
    args = parser.parse_args(argv)
    args.runs.mkdir(parents=True, exist_ok=True)
    if not args.summarize:
        run_interleaved(args.seeds, args.arms, lambda arm, seed: one_run(arm, seed, args))
    rows = cached_rows(args.cache, ARMS, args.seeds)
    summary = {arm: summarize(rows, arm) for arm in ARMS if arm != "train" and rows[arm]}
    text = table(rows, summary)
    print(text)
    atomic_write_json(args.out, {"settings": {**settings(args), "seeds": args.seeds}, "runs": rows,
                                 "summary": summary, "table": text})
    return 0


if __name__ == "__main__":
    sys.exit(main())
