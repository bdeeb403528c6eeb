"""ProxylessNAS vs evolution with trained estimates on ``chain`` under one latency budget, Fashion-MNIST, 3 seeds.

    python bench/proxyless_vs_evolution.py                  # runs what is not cached, then the table
    python bench/proxyless_vs_evolution.py --summarize      # only the table of what is cached

Every arm is the real ``archfit search`` job (``archfit.run.job.run_search``, what the CLI runs) on
Fashion-MNIST 16x16 (3,000-image class-balanced training subset), the ``chain`` space at width 1.0 (ProxylessNAS
searches kernel, expansion and depth, not widths, so both arms get that space), ``--max-latency-ms`` timed with
``--latency-clock cpu`` (batch 1, eager PyTorch, 1 thread: the timing thread's CPU time, so the load of this
shared machine does not decide the budget), and the chosen arch trained from scratch by one recipe
(``--final-epochs``, batch, lr, seed) and scored on the official 10,000-image test set:

* ``proxyless``: ``--method proxyless`` for ``--px-epochs`` (lookup table + latency loss + a real final check);
* ``evolution``: ``--estimator train --strategy evolution``, ``--trials`` candidates of ``--epochs`` epochs each,
  sized to take about the search time of the proxyless arm (both reported);
* ``random`` (optional, ``--arms``): the same with ``--strategy random``.

The arms are interleaved per seed so load drift hits all. Each (arm, seed) keeps its run folder under ``--runs``
(a killed search resumes) and, when done, its summary in ``--cache`` (atomic), so a rerun trains nothing done.
Search and final CPU seconds are split at the moment the job calls the method's ``finalize``. At the end every
chosen arch is re-timed (fresh build, CPU clock, ``--retime-rounds`` interleaved rounds, median): one latency per
arch measured side by side, beside the job's own final measurement of the trained model.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import time
from collections.abc import Iterator
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
from archfit.cost import measure_latency
from archfit.io import atomic_write_json, read_json
from archfit.metrics import t_interval
from archfit.run import job
from archfit.space import create_space
from archfit.space.base import Arch

HERE = Path(__file__).resolve().parent
SPACE_ARGS = {"widths": [1.0]}
# proxyless-lr1e-2: the same with --arch-lr 1e-2 (added in session 7): at the job's default 3e-4, 3 epochs (69
# architecture steps) moved the probabilities by < 0.004; 69 Adam steps at 1e-2 can move a logit by about 0.7
ARM_SETTINGS = {"proxyless": {"estimator": "proxyless"},
                "proxyless-lr1e-2": {"estimator": "proxyless", "arch_lr": 1e-2},
                # session 8: the same after the lookup table moved to 5 passes with mean CPU-clock entries (the
                # cached proxyless* rows above were searched with a one-pass, median-entry table)
                "proxyless-lr1e-2-table5": {"estimator": "proxyless", "arch_lr": 1e-2},
                # session 9: the same search; the derivation fills the budget (proxyless-fill) instead of argmax
                "proxyless-fill": {"estimator": "proxyless-fill", "arch_lr": 1e-2},
                "evolution": {"estimator": "train", "strategy": "evolution"},
                "random": {"estimator": "train", "strategy": "random"}}


def settings(args: argparse.Namespace) -> dict:
    """The SearchConfig fields shared by every arm (the arm adds estimator, strategy, epochs and seed)."""
    return {"data": "fashion-mnist", "image_size": 16, "train_subset": args.train_subset, "space": "chain",
            "space_args": SPACE_ARGS, "trials": args.trials, "final_epochs": args.final_epochs,
            "max_latency_ms": args.max_latency_ms, "latency_clock": "cpu", "threads": 1}


def arm_config(arm: str, seed: int, args: argparse.Namespace) -> SearchConfig:
    epochs = args.px_epochs if arm.startswith("proxyless") else args.epochs
    return SearchConfig(**settings(args), **ARM_SETTINGS[arm], epochs=epochs, seed=seed)


@contextlib.contextmanager
def cpu_mark_at_finalize(marks: dict) -> Iterator[None]:
    """Record process CPU seconds when the job calls the method's ``finalize`` (search / final split)."""
    original = job.create_method

    def create(*args, **kwargs):
        method = original(*args, **kwargs)
        finalize = method.finalize

        def marked(ctx, outcome):
            marks["final_start_cpu"] = time.process_time()
            return finalize(ctx, outcome)

        method.finalize = marked
        return method

    job.create_method = create
    try:
        yield
    finally:
        job.create_method = original


def one_run(arm: str, seed: int, args: argparse.Namespace) -> dict:
    """One (arm, seed): cached summary, or run (resuming a killed run's folder) and cache the summary."""
    key = f"{arm}/seed{seed}"
    done = cached_row(args.cache, key)
    if done is not None:
        return done
    folder = args.runs / f"{arm}-seed{seed}"
    config = arm_config(arm, seed, args)
    resumed = job.has_store(folder)
    load, cpu, marks = os.getloadavg()[0], time.process_time(), {}
    print(f"[{time.strftime('%H:%M:%S')}] {key} (load {load:.1f}{', resuming' if resumed else ''}) ...", flush=True)
    results = job.finished_results(folder)  # finished but not summarised (killed in between): its own timing
    cpu_search = cpu_final = None
    if results is None:
        with cpu_mark_at_finalize(marks):
            results = job.run_search(config, folder, resume=resumed, progress=False)
        end = time.process_time()
        cpu_search, cpu_final = marks["final_start_cpu"] - cpu, end - marks["final_start_cpu"]
    best, timing = results["best"], results["timing"]
    at_search = next((t["cost"].get("latency_ms") for t in results["trials"] if t["arch"] == best["arch"]), None)
    proxyless = read_json(folder / "differentiable" / "differentiable.json", "proxyless outcome").get("latency", {}) \
        if arm.startswith("proxyless") else {}
    row = {"arm": arm, "seed": seed, "arch": best["arch"], "flops": best["cost"]["flops"],
           "params": best["cost"]["params"], "latency_final_ms": best["cost"]["latency_ms"],
           "latency_at_search_ms": at_search, "predicted_ms": proxyless.get("predicted_ms"),
           "repaired_blocks": proxyless.get("repaired_blocks"), "filled_blocks": proxyless.get("filled_blocks"),
           "argmax_predicted_ms": proxyless.get("argmax_predicted_ms"), "valid_acc": best["metrics"]["valid_acc"],
           "test_acc": best["metrics"]["test_acc"], "search_seconds": timing["search_seconds"],
           "final_seconds": timing["final_seconds"], "wall_seconds": timing["total_seconds"],
           "cpu_search_seconds": cpu_search, "cpu_final_seconds": cpu_final, "trials": len(results["trials"]),
           "load_1min_at_start": load, "resumed": resumed, "finished_utc": time.strftime("%H:%M:%S", time.gmtime())}
    cache_row(args.cache, key, row)
    print(f"    test {100 * row['test_acc']:.2f} %, {row['flops'] / 1e6:.3f} MFLOPs, latency final "
          f"{row['latency_final_ms']:.2f} ms (at search {at_search or float('nan'):.2f}), search {row['search_seconds']:.0f} s "
          f"wall / {cpu_search or float('nan'):.0f} s CPU, final {row['final_seconds']:.0f} s", flush=True)
    return row


def retime(rows: list[dict], rounds: int) -> dict[str, float]:
    """Median CPU-clock latency (ms) of each chosen arch, freshly built, over ``rounds`` interleaved rounds."""
    space = create_space("chain", input_shape=[1, 16, 16], num_classes=10, **SPACE_ARGS)
    models = {f"{r['arm']}/seed{r['seed']}": space.build(Arch(r["arch"])) for r in rows}
    times: dict[str, list[float]] = {k: [] for k in models}
    for _ in range(rounds):
        for k, model in models.items():
            times[k].append(measure_latency(model, space.input_shape, threads=1, clock="cpu").median_ms)
    return {k: statistics.median(v) for k, v in times.items()}


def mean_ci(values: list[float]) -> dict:
    lo, hi = t_interval(values)
    return {"mean": statistics.fmean(values) if values else float("nan"), "ci90": [lo, hi], "n": len(values)}


def summarize(rows: dict[str, list[dict]], budget: float, retimed: dict[str, float]) -> dict:
    out: dict = {"budget_ms": budget, "interval": "Student t, 90 %", "arms": {}, "paired": {}}
    for arm, rs in rows.items():
        for r in rs:
            r["latency_retimed_ms"] = retimed.get(f"{arm}/seed{r['seed']}")
        out["arms"][arm] = {k: mean_ci([r[k] for r in rs if r.get(k) is not None])
                            for k in ("test_acc", "latency_final_ms", "latency_retimed_ms", "flops", "search_seconds",
                                      "cpu_search_seconds", "final_seconds", "cpu_final_seconds")}
        out["arms"][arm]["fits_final"] = sum(r["latency_final_ms"] <= budget for r in rs)
        out["arms"][arm]["fits_retimed"] = sum((r["latency_retimed_ms"] or float("inf")) <= budget for r in rs)
    by = {arm: {r["seed"]: r for r in rs} for arm, rs in rows.items()}
    for px in [a for a in rows if a.startswith("proxyless")]:
        for other in [a for a in rows if not a.startswith("proxyless")]:
            seeds = sorted(set(by[px]) & set(by[other]))
            diffs = [100 * (by[px][s]["test_acc"] - by[other][s]["test_acc"]) for s in seeds]
            out["paired"][f"{px} - {other}"] = {"seeds": seeds, "per_seed_pp": diffs, **mean_ci(diffs)}
    return out


def fmt(stat: dict, scale: float = 1.0, digits: int = 2) -> str:
    lo, hi = stat["ci90"]
    if stat["n"] < 2:
        return "-" if stat["n"] == 0 else f"{scale * stat['mean']:.{digits}f}"
    return f"{scale * stat['mean']:.{digits}f} [{scale * lo:.{digits}f}, {scale * hi:.{digits}f}]"


def table(rows: dict[str, list[dict]], summary: dict) -> str:
    b = summary["budget_ms"]
    lines = [f"budget {b} ms (CPU clock); per run:", "",
             ("| arm | seed | MFLOPs | latency ms: at search / final (trained) / re-timed | fits (final / re-timed) "
             "| test % | search s wall / CPU | final s wall / CPU |"), "|---|---|---|---|---|---|---|---|"]
    for seed in sorted({r["seed"] for rs in rows.values() for r in rs}):
        for arm, rs in rows.items():
            for r in (r for r in rs if r["seed"] == seed):
                cs, cf = r["cpu_search_seconds"], r["cpu_final_seconds"]
                lines.append(
                    f"| {arm} | {seed} | {r['flops'] / 1e6:.3f} | {r['latency_at_search_ms'] or float('nan'):.2f} / "
                    f"{r['latency_final_ms']:.2f} / {r.get('latency_retimed_ms') or float('nan'):.2f} | "
                    f"{'yes' if r['latency_final_ms'] <= b else 'no'} / "
                    f"{'yes' if (r.get('latency_retimed_ms') or float('inf')) <= b else 'no'} | {100 * r['test_acc']:.2f} | "
                    f"{r['search_seconds']:.0f} / {cs if cs is None else f'{cs:.0f}'} | "
                    f"{r['final_seconds']:.0f} / {cf if cf is None else f'{cf:.0f}'} |")
    lines += ["", "mean [90 % t interval] over seeds:", "",
              ("| arm | seeds | test % | latency final ms | re-timed ms | fit (final / re-timed) | MFLOPs | search s wall "
              "| search s CPU | final s wall |"), "|---|---|---|---|---|---|---|---|---|---|"]
    for arm, a in summary["arms"].items():
        lines.append(f"| {arm} | {a['test_acc']['n']} | {fmt(a['test_acc'], 100)} | {fmt(a['latency_final_ms'])} | "
                     f"{fmt(a['latency_retimed_ms'])} | {a['fits_final']}/{a['test_acc']['n']} / "
                     f"{a['fits_retimed']}/{a['test_acc']['n']} | {fmt(a['flops'], 1e-6, 3)} | "
                     f"{fmt(a['search_seconds'], 1, 0)} | {fmt(a['cpu_search_seconds'], 1, 0)} | "
                     f"{fmt(a['final_seconds'], 1, 0)} |")
    for name, d in summary["paired"].items():
        lines.append(f"\n{name}: test accuracy {fmt(d)} pp (paired, per seed {', '.join(f'{x:+.2f}' for x in d['per_seed_pp'])})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", default=["proxyless", "evolution"], choices=list(ARM_SETTINGS))
    parser.add_argument("--max-latency-ms", default="2.8", help="CPU-clock budget: between the fastest (2.1 ms) "
                                                              "and the median (3.3 ms) of 30 random chain networks")
    parser.add_argument("--train-subset", type=int, default=3000)
    parser.add_argument("--px-epochs", type=int, default=3, help="ProxylessNAS search epochs")
    parser.add_argument("--trials", type=int, default=8, help="evolution / random: candidates")
    parser.add_argument("--epochs", type=int, default=1, help="evolution / random: training epochs per candidate")
    parser.add_argument("--final-epochs", type=int, default=4, help="the chosen arch, every arm")
    parser.add_argument("--retime-rounds", type=int, default=5)
    add_cache_arguments(parser, HERE / "results", "proxyless_vs_evolution")
    args = parser.parse_args(argv)
    args.runs.mkdir(parents=True, exist_ok=True)
    if not args.summarize:
        run_interleaved(args.seeds, args.arms, lambda arm, seed: one_run(arm, seed, args))
    rows = cached_rows(args.cache, args.arms, args.seeds)
    rows = {arm: rs for arm, rs in rows.items() if rs}
    load = os.getloadavg()
    retimed = retime([r for rs in rows.values() for r in rs], args.retime_rounds)
    summary = summarize(rows, float(args.max_latency_ms), retimed)
    text = table(rows, summary)
    print(text)
    atomic_write_json(args.out, {"settings": {**settings(args), "seeds": args.seeds, "px_epochs": args.px_epochs,
                                              "epochs": args.epochs, "retime_rounds": args.retime_rounds},
                                 "retime_load_average": list(load), "runs": rows, "summary": summary, "table": text})
    return 0


if __name__ == "__main__":
    sys.exit(main())
