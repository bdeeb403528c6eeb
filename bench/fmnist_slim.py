"""``archfit slim`` on Fashion-MNIST: width search vs Torch-Pruning criteria and knockoff at 50% and 25% FLOPs.

Every criterion runs in both Torch-Pruning scopes (``l1`` local, ``l1-global`` global; ``compress/prune.py``),
and "best criterion" is the best of all ten.

    python bench/fmnist_slim.py                   # runs what is not cached (3 seeds), then the table
    python bench/fmnist_slim.py --summarize       # only the table of what is cached

Models: ResNet-20 (built-in ``resnet20``, first-stage width 8) and a MobileNetV2-style net (built-in
``mobilenetv2``, default stages) on Fashion-MNIST 14x14, the seeded class-balanced 5,000-image training
subset, the official 10,000-image test set. Per (model, seed) the original is trained once (``--pretrain``
epochs; its weights are kept under ``--runs`` so a resumed run does not train it again); then for each budget
every method slims a copy to the same FLOPs budget and is fine-tuned by the same recipe (``--finetune``
epochs, SGD at lr / 2.5, distillation from the original: ``archfit.compress.pipeline.finetune``). The
width search additionally trains its width supernet (``--supernet`` epochs, sandwich rule) and scores
``--evaluations`` configurations on the first 5,000 validation images (the criteria use no validation
data). Each (model, seed, budget, method) record is cached atomically in ``--cache`` as soon as it is done.
Reported: test accuracy mean with a 90 % Student-t interval over seeds, per method and budget, and the
paired difference of width search to the best criterion at each budget.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from archfit.io import atomic_write_bytes, atomic_write_json, read_json
from archfit.metrics import t_interval

HERE = Path(__file__).resolve().parent
MODELS = {"resnet20": {"width": 8}, "mobilenetv2": {}}
BUDGETS = ("50%", "25%")
CRITERIA = ("l1", "bn", "taylor", "fpgm", "knockoff")
# each criterion twice: Torch-Pruning's local scope (one ratio per group) and global scope (ranked across groups)
METHODS = ("width", *CRITERIA, *(f"{c}-global" for c in CRITERIA))
VALID = 5000  # validation images the width search scores configurations on


def load() -> object:
    from archfit.data import load_data
    from archfit.data.base import DataModule, Split

    data = load_data("fashion-mnist", 14, 5000)
    return DataModule(data.name, data.train, Split(data.valid.x[:VALID], data.valid.y[:VALID]), data.test,
                      data.num_classes)


def run_model_seed(model: str, seed: int, data, args: argparse.Namespace, cache: dict) -> None:
    """Every (budget, method) of one (model, seed) not yet in ``cache``; caches each record as it is done."""
    import torch
    from safetensors.torch import save

    from archfit.compress.pipeline import SlimConfig, check_budget, prepare, run_method

    todo = [(b, m) for b in BUDGETS for m in args.methods if f"{model}/s{seed}/{b}/{m}" not in cache]
    if not todo:
        return
    weights = args.runs / f"{model}-s{seed}.safetensors"
    base = SlimConfig(model=model, model_args=MODELS[model], data="fashion-mnist", image_size=14, train_subset=5000,
                      methods=tuple(args.methods), seed=seed, pretrain_epochs=args.pretrain,
                      supernet_epochs=args.supernet, evaluations=args.evaluations, finetune_epochs=args.finetune,
                      weights=str(weights) if weights.is_file() else None)
    start = time.perf_counter()
    ctx = prepare(base, data=data, log=lambda *_: None)
    pretrain_seconds = time.perf_counter() - start
    if not weights.is_file():  # the trained original, so that a resumed run does not train it again
        atomic_write_bytes(weights, save({k: v.detach().contiguous() for k, v in ctx.model.state_dict().items()}))
    print(f"{model} seed {seed}: original {100 * ctx.before['test_acc']:.2f} %, {ctx.before['flops'] / 1e6:.2f} "
          f"MFLOPs, {len(ctx.space.groups)} channel groups ({pretrain_seconds:.0f} s)", flush=True)
    for budget in BUDGETS:
        ctx.config = SlimConfig(**{**base.__dict__, "max_flops": budget})
        ctx.budget = None
        check_budget(ctx)
        for method in args.methods:
            key = f"{model}/s{seed}/{budget}/{method}"
            if key in cache:
                continue
            torch.manual_seed(seed)
            entry = run_method(ctx, method, log=lambda *_: None)
            entry.pop("model")
            record = {"model": model, "seed": seed, "budget": budget, "method": method,
                      "original_acc": entry["before"]["test_acc"], "original_flops": entry["before"]["flops"],
                      "test_acc": entry["after"]["test_acc"], "flops": entry["after"]["flops"],
                      "flops_ratio": entry["after"]["flops"] / entry["before"]["flops"],
                      "params": entry["after"]["params"], "acc_before_finetune": entry["test_acc_before_finetune"],
                      "widths": entry["widths"], "seconds": entry["seconds"],
                      "search_valid_acc": entry.get("search_valid_acc"),
                      "pruning_ratio": entry.get("pruning_ratio"), "original_pretrained_here": base.weights is None,
                      "finished_utc": time.strftime("%H:%M:%S", time.gmtime())}
            cache[key] = record
            atomic_write_json(args.cache, cache)
            print(f"  {budget} {method}: {100 * record['test_acc']:.2f} % at {record['flops_ratio']:.3f} of the FLOPs "
                  f"(before fine-tuning {100 * record['acc_before_finetune']:.2f} %, {record['seconds']:.0f} s)",
                  flush=True)


def summarize(records: list[dict]) -> dict:
    """Per (model, budget, method): mean, 90 % t interval; per (model, budget): width - best criterion, paired."""
    out: dict = {}
    for model in MODELS:
        for budget in BUDGETS:
            cell: dict = {}
            for method in METHODS:
                rs = sorted((r for r in records if (r["model"], r["budget"], r["method"]) == (model, budget, method)),
                            key=lambda r: r["seed"])
                if rs:
                    accs = [100 * r["test_acc"] for r in rs]
                    cell[method] = {"seeds": [r["seed"] for r in rs], "test_acc_pct": accs,
                                    "mean": statistics.fmean(accs), "ci90": list(t_interval(accs)),
                                    "flops_ratio": statistics.fmean(r["flops_ratio"] for r in rs),
                                    "seconds": statistics.fmean(r["seconds"] for r in rs)}
            criteria = {m: v for m, v in cell.items() if m != "width"}
            if "width" in cell and criteria:
                best = max(criteria, key=lambda m: criteria[m]["mean"])
                seeds = sorted(set(cell["width"]["seeds"]) & set(criteria[best]["seeds"]))
                acc = {m: dict(zip(cell[m]["seeds"], cell[m]["test_acc_pct"])) for m in ("width", best)}
                diffs = [acc["width"][s] - acc[best][s] for s in seeds]
                cell["width_vs_best"] = {"best_criterion": best, "seeds": seeds, "per_seed_pp": diffs,
                                         "mean_pp": statistics.fmean(diffs) if diffs else float("nan"),
                                         "ci90_pp": list(t_interval(diffs))}
            if cell:
                out[f"{model}/{budget}"] = cell
    return out


def table(summary: dict, records: list[dict]) -> str:
    lines = ["| model | FLOPs budget | method | test acc % (mean [90% CI]) | FLOPs kept | seeds | s per run |",
             "|---|---|---|---|---|---|---|"]
    for name, cell in summary.items():
        model, budget = name.split("/")
        for method in METHODS:
            if method in cell:
                c = cell[method]
                lines.append(f"| {model} | {budget} | {method} | {c['mean']:.2f} [{c['ci90'][0]:.2f}, {c['ci90'][1]:.2f}] | "
                             f"{c['flops_ratio']:.3f} | {len(c['seeds'])} | {c['seconds']:.0f} |")
    lines += ["", "| model | FLOPs budget | best criterion | width - best (pp, mean [90% CI]) | per seed |",
              "|---|---|---|---|---|"]
    for name, cell in summary.items():
        if "width_vs_best" in cell:
            w = cell["width_vs_best"]
            lines.append(f"| {name.split('/')[0]} | {name.split('/')[1]} | {w['best_criterion']} | {w['mean_pp']:+.2f} "
                         f"[{w['ci90_pp'][0]:+.2f}, {w['ci90_pp'][1]:+.2f}] | "
                         f"{', '.join(f'{d:+.2f}' for d in w['per_seed_pp'])} |")
    originals: dict = {}
    for r in records:
        originals.setdefault((r["model"], r["seed"]), 100 * r["original_acc"])
    for model in MODELS:
        accs = [v for (m, _), v in originals.items() if m == model]
        if accs:
            lines.append(f"\noriginal {model}: test acc {statistics.fmean(accs):.2f} % over {len(accs)} seeds "
                         f"({', '.join(f'{a:.2f}' for a in accs)})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=list(MODELS))
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
    parser.add_argument("--pretrain", type=int, default=8, help="epochs training the original")
    parser.add_argument("--supernet", type=int, default=2, help="width supernet epochs (width search only)")
    parser.add_argument("--evaluations", type=int, default=24, help="width configurations scored")
    parser.add_argument("--finetune", type=int, default=3, help="fine-tuning epochs, every method")
    parser.add_argument("--runs", type=Path, default=HERE / "out" / "fmnist_slim_runs")
    parser.add_argument("--cache", type=Path, default=HERE / "results" / "fmnist_slim_cache.json")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "fmnist_slim.json")
    parser.add_argument("--summarize", action="store_true")
    args = parser.parse_args(argv)
    args.runs.mkdir(parents=True, exist_ok=True)
    cache = read_json(args.cache, "slim records") if args.cache.is_file() else {}
    if not args.summarize:
        import torch

        torch.set_num_threads(1)
        data = load()
        for seed in args.seeds:
            for model in args.models:
                run_model_seed(model, seed, data, args, cache)
    records = [r for r in cache.values() if r["seed"] in args.seeds and r["model"] in args.models]
    summary = summarize(records)
    text = table(summary, records)
    print(text)
    settings = {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()}
    atomic_write_json(args.out, {"settings": {**settings, "data": "fashion-mnist@14, 5000 train, valid[:5000]",
                                              "model_args": MODELS}, "summary": summary, "table": text,
                                 "records": records})
    return 0


if __name__ == "__main__":
    sys.exit(main())
