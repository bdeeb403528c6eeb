"""Benchmark of ``archfit slim``: width search vs one-shot pruning criteria at equal FLOPs.

Rows: a 1-D CNN and a 1-D ResNet on MNIST-1D (the judged rows) and ResNet-20 on digits (a sanity row),
each at 50% and 25% of the original FLOPs, over several seeds. Per seed the original model is trained
once; then every method slims a copy to the same FLOPs budget and is fine-tuned for the same number
of epochs with distillation from the original (the width search additionally trains its supernet,
reported as ``supernet_epochs``). Latency is measured on this CPU with 1 thread at batch 1 (what
``results.json`` reports) and at batch 64.

    python bench/slim.py --out bench/results/slim.json            # full run (3 seeds; about an hour)
    python bench/slim.py --out /tmp/slim_quick.json --quick       # smoke test, minutes
    python bench/slim.py --out bench/results/slim.json --summarize  # table of a (partial) run
    python bench/slim.py --out bench/results/slim.json --paired-latency  # robust speedups, then the table
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

ROWS = {  # name: (model spec, model args, data, pre-training epochs)
    "cnn1d/mnist1d": ("cnn1d", {"channels": [16, 32, 32, 64, 64]}, "mnist1d", 30),
    "resnet1d/mnist1d": ("resnet1d", {"depth": 8, "width": 16}, "mnist1d", 30),
    "resnet20/digits": ("resnet20", {"width": 8}, "digits", 20),
}
BUDGETS = ("50%", "25%")
METHODS = ("width", "l1", "bn", "taylor", "fpgm", "knockoff")


def run_task(task: dict) -> list[dict]:
    """One (row, seed): train the original once, then every budget x method."""
    import torch

    torch.set_num_threads(1)
    from archfit.compress.pipeline import SlimConfig, check_budget, prepare, run_method
    from archfit.cost import measure_latency
    from archfit.data import load_data

    spec, args, data_name, pretrain = ROWS[task["row"]]
    data = load_data(data_name)
    quick = task["quick"]
    base = SlimConfig(model=spec, model_args=args, data=data_name, methods=METHODS, seed=task["seed"],
                      pretrain_epochs=2 if quick else pretrain, supernet_epochs=1 if quick else task["supernet_epochs"],
                      evaluations=6 if quick else task["evaluations"], finetune_epochs=1 if quick else task["finetune_epochs"])
    ctx = prepare(base, data=data, log=lambda *_: None)
    latency64_before = measure_latency(ctx.model, data.input_shape, batch=64, threads=1).median_ms
    out = []
    for budget in BUDGETS:
        ctx.config = SlimConfig(**{**base.__dict__, "max_flops": budget})
        ctx.budget = None
        check_budget(ctx)
        for method in METHODS:
            entry = run_method(ctx, method, log=lambda *_: None)
            model = entry.pop("model")
            latency64 = measure_latency(model, data.input_shape, batch=64, threads=1).median_ms
            out.append({"row": task["row"], "seed": task["seed"], "budget": budget, "method": method,
                        "before": entry["before"], "after": entry["after"],
                        "test_acc_before_finetune": entry["test_acc_before_finetune"],
                        "latency64_ms": {"before": latency64_before, "after": latency64},
                        "widths": entry["widths"], "seconds": entry["seconds"]})
            print(f"{task['row']} seed {task['seed']} {budget} {method}: {100 * entry['after']['test_acc']:.2f}% "
                  f"({entry['seconds']:.0f} s)", flush=True)
    return out


def paired_speedups(records: list[dict], cache_file: Path, rounds: int = 7) -> None:
    """Re-measure latency speedups robustly on a shared machine: rebuild each distinct architecture
    (original and slimmed, random weights), time both in alternating rounds (1 thread, median of
    repeats per round) and keep the median of the per-round ratios. Adds ``paired_speedup`` to records;
    results are cached per architecture in ``cache_file``."""
    import torch

    torch.set_num_threads(1)
    from archfit.compress.extract import shrink_to
    from archfit.compress.spec import build_model, fill_args
    from archfit.cost import measure_latency

    shapes = {"mnist1d": (1, 40), "digits": (1, 8, 8)}
    from archfit.io import atomic_write_json

    cache: dict[str, dict] = json.loads(cache_file.read_text()) if cache_file.is_file() else {}
    for record in records:
        spec, args, data_name, _ = ROWS[record["row"]]
        shape = shapes[data_name]
        key = json.dumps([record["row"], record["widths"]], sort_keys=True)
        if key not in cache:
            full = build_model(spec, fill_args(spec, args, shape, 10)).eval()
            small = shrink_to(build_model(spec, fill_args(spec, args, shape, 10)), shape, record["widths"]).eval()
            result = {}
            for batch, repeats in ((1, 30), (64, 8)):
                ratios = [measure_latency(full, shape, batch=batch, repeats=repeats, threads=1).median_ms
                          / measure_latency(small, shape, batch=batch, repeats=repeats, threads=1).median_ms
                          for _ in range(rounds)]
                result[f"b{batch}"] = float(np.median(ratios))
            cache[key] = result
            atomic_write_json(cache_file, cache)  # resumable: measured architectures are not timed again
        record["paired_speedup"] = cache[key]


def table(records: list[dict]) -> str:
    lines = ["| model / data | FLOPs budget | method | test acc % (mean ± sd) | FLOPs reduction (x) | "
             "speedup b=1 (x) | speedup b=64 (x) | seeds |", "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["row"], r["budget"]) for r in records}, key=lambda k: (list(ROWS).index(k[0]), k[1] == "25%"))
    for row, budget in keys:
        for method in METHODS:
            rs = [r for r in records if r["row"] == row and r["budget"] == budget and r["method"] == method]
            if not rs:
                continue
            acc = np.array([100 * r["after"]["test_acc"] for r in rs])
            red = np.mean([r["before"]["flops"] / r["after"]["flops"] for r in rs])
            if all("paired_speedup" in r for r in rs):
                sp1 = np.mean([r["paired_speedup"]["b1"] for r in rs])
                sp64 = np.mean([r["paired_speedup"]["b64"] for r in rs])
            else:  # single measurements taken during the run (noisy on a loaded machine)
                sp1 = np.mean([r["before"]["latency_ms"] / r["after"]["latency_ms"] for r in rs])
                sp64 = np.mean([r["latency64_ms"]["before"] / r["latency64_ms"]["after"] for r in rs])
            lines.append(f"| {row} | {budget} | {method} | {acc.mean():.2f} ± {acc.std():.2f} | {red:.2f} | "
                         f"{sp1:.2f} | {sp64:.2f} | {len(rs)} |")
    originals = {}
    for r in records:
        originals.setdefault((r["row"], r["seed"]), 100 * r["before"]["test_acc"])
    for row in ROWS:
        accs = [v for (name, _), v in originals.items() if name == row]
        if accs:
            lines.append(f"\noriginal {row}: test acc {np.mean(accs):.2f} ± {np.std(accs):.2f} % over {len(accs)} seeds")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for all records")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of " + ", ".join(ROWS))
    parser.add_argument("--jobs", type=int, default=3, help="worker processes (1 thread each)")
    parser.add_argument("--supernet-epochs", type=int, default=10)
    parser.add_argument("--evaluations", type=int, default=60)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="tiny epochs: checks the script, not the methods")
    parser.add_argument("--summarize", action="store_true", help="only print the table of the records in --out")
    parser.add_argument("--paired-latency", action="store_true",
                        help="re-measure the speedups of the records in --out with alternating paired timing")
    args = parser.parse_args(argv)
    if args.summarize or args.paired_latency:
        data = json.loads(args.out.read_text())
        if args.paired_latency:
            from archfit.io import atomic_write_json

            paired_speedups(data["records"], args.out.with_suffix(".latency.json"))
            data["table"] = table(data["records"])
            atomic_write_json(args.out, data)
        print(table(data["records"]))
        return 0
    rows = [r for r in args.rows.split(",") if r]
    unknown = [r for r in rows if r not in ROWS]
    if unknown:
        parser.error(f"unknown row {unknown[0]!r}; rows are {list(ROWS)}")
    tasks = [{"row": row, "seed": seed, "quick": args.quick, "supernet_epochs": args.supernet_epochs,
              "evaluations": args.evaluations, "finetune_epochs": args.finetune_epochs}
             for seed in range(args.seeds) for row in rows]
    from task_pool import run_tasks

    run_tasks(run_task, tasks, args.jobs, args.out, {k: v for k, v in vars(args).items() if k != "out"}, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
