"""Ablation of ``archfit slim``'s width search at equal fine-tuning: what decides the accuracy after it?

``bench/slim.py`` compares width search with pruning criteria end to end. This script takes width search
apart on one row, per seed, with everything else held fixed (the same original, the same supernet, the
same fine-tuning recipe as every method in the pipeline):

* the criteria (L1, FPGM, Taylor), as in ``bench/slim.py``;
* the search's pick by validation accuracy (what ``archfit slim`` ships) and by validation loss;
* a short-fine-tune rerank: the 5 best by accuracy each fine-tuned one epoch, the best then fully;
* the supernet's weights at the uniform widths and at the L1 criterion's own widths (the weight source
  alone: same widths as L1, supernet weights instead of the L1-pruned original's);
* the searched widths with the original's weights (channels in the supernet's importance order).

All variants are extracted, fine-tuned with ``pipeline.finetune`` and scored on the test split.

    python bench/slim_ablation.py --out bench/results/slim_ablation.json            # about 15 min
    python bench/slim_ablation.py --out /tmp/ablation.json --seeds 1 --quick        # smoke test
"""

from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

ROWS = {  # name: (model args of cnn1d, pre-training epochs); both on MNIST-1D
    "cnn1d-8/mnist1d": ({"channels": [8, 16, 16, 32, 32]}, 30),  # less saturated: original ~98.3 %
    "cnn1d-16/mnist1d": ({"channels": [16, 32, 32, 64, 64]}, 30),  # bench/slim.py's size: original ~99.2 %
}
FINE_GRID = tuple(i / 16 for i in range(4, 17))  # the L1 widths at 25 % (7/16) are on it; the default grid's are not
VARIANTS = ("l1", "fpgm", "taylor", "search: valid acc", "search: valid loss", "search: top-5, 1-epoch rerank",
            "supernet weights, uniform widths", "supernet weights, L1's widths", "original weights, searched widths")


def run_task(task: dict) -> dict:
    """One (row, seed): every variant at the budget; returns test accuracies (fraction) and widths."""
    import torch
    import torch.nn.functional as F

    torch.set_num_threads(1)
    from archfit.compress.extract import extract
    from archfit.compress.pipeline import (
        SlimConfig,
        check_budget,
        finetune,
        group_widths,
        prepare,
        run_method,
        train_width_supernet,
        width_fits,
    )
    from archfit.compress.width_search import search_widths, uniform_at_budget
    from archfit.data import load_data
    from archfit.train.bn import calibration_batches, recalibrate_bn
    from archfit.train.trainer import accuracy, predict

    args, pretrain = ROWS[task["row"]]
    quick, seed = task["quick"], task["seed"]
    data = load_data("mnist1d")
    config = SlimConfig(model="cnn1d", model_args=args, data="mnist1d", max_flops=task["budget"], seed=seed,
                        ratios=tuple(task["ratios"]), pretrain_epochs=2 if quick else pretrain,
                        supernet_epochs=1 if quick else task["supernet_epochs"],
                        finetune_epochs=1 if quick else task["finetune_epochs"])
    ctx = prepare(config, data=data, log=lambda *_: None)
    budget, plan = check_budget(ctx), ctx.space
    out: dict = {"row": task["row"], "seed": seed, "budget": task["budget"], "original": ctx.before["test_acc"],
                 "acc": {}, "widths": {}}
    for method in ("l1", "fpgm", "taylor"):
        entry = run_method(ctx, method, log=lambda *_: None)
        out["acc"][method], out["widths"][method] = entry["after"]["test_acc"], entry["widths"]

    fits = width_fits(ctx, budget)
    supernet, _ = train_width_supernet(ctx, fits)
    calibration = calibration_batches(data.train.x, 8, 128, seed=seed)
    scores: dict[tuple[int, ...], tuple[float, float]] = {}

    def key(widths: dict[str, int]) -> tuple[int, ...]:
        return tuple(widths[g.name] for g in plan.groups)

    def score(widths: dict[str, int]) -> float:
        supernet.activate(widths)
        recalibrate_bn(supernet, calibration)
        with torch.no_grad():
            logits = predict(supernet, data.valid.x)
        scores[key(widths)] = (float((logits.argmax(1) == data.valid.y).float().mean()),
                               float(F.cross_entropy(logits, data.valid.y)))
        return scores[key(widths)][0]

    evaluations = 8 if quick else task["evaluations"]
    result = search_widths(plan, score, fits, ctx.cost, evaluations, seed=seed)

    def from_supernet(widths: dict[str, int]) -> torch.nn.Module:
        """The supernet's weights at ``widths`` (BN recalibrated as the pipeline does), as a real model."""
        supernet.activate(widths)
        recalibrate_bn(supernet, calibration_batches(data.train.x, 32, 128, seed=seed))
        clean = copy.deepcopy(ctx.model)  # hook-free: extraction deep-copies its input
        clean.load_state_dict(supernet.net.state_dict())
        return extract(clean, plan, widths)

    def tuned(model: torch.nn.Module, epochs: int | None = None) -> torch.nn.Module:
        if epochs is None:
            return finetune(ctx, model)
        short = copy.copy(ctx)
        short.config = SlimConfig(**{**config.__dict__, "finetune_epochs": epochs})
        return finetune(short, model)

    history = [w for w, _ in result.history]
    by_acc = sorted(history, key=lambda w: -scores[key(w)][0])
    rerank = max(by_acc[:5], key=lambda w: accuracy(tuned(from_supernet(w), 1), data.valid))
    l1_widths = out["widths"]["l1"]
    l1_on_grid = all(l1_widths[g.name] in g.choices for g in plan.groups)
    picks = {"search: valid acc": (result.best, "supernet"),
             "search: valid loss": (min(history, key=lambda w: scores[key(w)][1]), "supernet"),
             "search: top-5, 1-epoch rerank": (rerank, "supernet"),
             "supernet weights, uniform widths": (uniform_at_budget(plan, fits), "supernet"),
             "original weights, searched widths": (result.best, "original")}
    if l1_on_grid:
        picks["supernet weights, L1's widths"] = (dict(l1_widths), "supernet")
    for name, (widths, source) in picks.items():
        model = from_supernet(widths) if source == "supernet" else extract(ctx.model, plan, widths)
        out["acc"][name] = accuracy(tuned(model), data.test)
        out["widths"][name] = group_widths(plan, model)
    supernet.release()
    print(f"{task['row']} seed {seed}: " + ", ".join(f"{k} {100 * v:.1f}" for k, v in out["acc"].items()),
          flush=True)
    return out


def table(records: list[dict]) -> str:
    lines = ["| row | variant | test acc % (mean ± sd) | vs best criterion (pp) | per seed |", "|---|---|---|---|---|"]
    for row in ROWS:
        rs = [r for r in records if r["row"] == row]
        if not rs:
            continue
        mean = {v: np.mean([100 * r["acc"][v] for r in rs if v in r["acc"]]) for v in VARIANTS
                if any(v in r["acc"] for r in rs)}
        best_criterion = max(mean[m] for m in ("l1", "fpgm", "taylor"))
        for variant, value in mean.items():
            accs = [100 * r["acc"][variant] for r in rs if variant in r["acc"]]
            lines.append(f"| {row} | {variant} | {value:.2f} ± {np.std(accs):.2f} | {value - best_criterion:+.2f} | "
                         + " ".join(f"{a:.1f}" for a in accs) + " |")
        originals = [100 * r["original"] for r in rs]
        lines.append(f"| {row} | (original, unpruned) | {np.mean(originals):.2f} ± {np.std(originals):.2f} | | |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for all records")
    parser.add_argument("--rows", default=",".join(ROWS), help="comma-separated subset of " + ", ".join(ROWS))
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--budget", default="25%", help="FLOPs budget relative to the original")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (1 thread each)")
    parser.add_argument("--supernet-epochs", type=int, default=10)
    parser.add_argument("--evaluations", type=int, default=60)
    parser.add_argument("--finetune-epochs", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="tiny epochs: checks the script, not the methods")
    args = parser.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    if [r for r in rows if r not in ROWS]:
        parser.error(f"unknown row in {args.rows!r}; rows are {list(ROWS)}")
    tasks = [{"row": row, "seed": seed, "budget": args.budget, "ratios": FINE_GRID, "quick": args.quick,
              "supernet_epochs": args.supernet_epochs, "evaluations": args.evaluations,
              "finetune_epochs": args.finetune_epochs} for row in rows for seed in range(args.seeds)]
    from task_pool import run_tasks

    settings = {**{k: v for k, v in vars(args).items() if k != "out"}, "ratios": FINE_GRID}
    run_tasks(run_task, tasks, args.jobs, args.out, settings, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
