"""``archfit slim`` on models whose channels are coupled through concatenation, squeeze-excitation and
grouped convolutions: width search vs Torch-Pruning L1 at equal fine-tuning, at 50% and 25% FLOPs.

Per (model, seed) the original is trained once; each budget x method slims a copy and fine-tunes it for
the same epochs with distillation from the original. Only the classifier's outputs are kept, so the
stem's channels (which reach far through concatenations, SE gates and identity shortcuts) are searched
too; ``min_ratio_stem_kept`` reports how far the old rule (first layer always kept) could have gone.

    python bench/slim_models.py --out bench/results/slim_models.json            # 2 seeds
    python bench/slim_models.py --out /tmp/slim_models_quick.json --quick       # smoke test
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

MODELS = {"densenet": {}, "se_resnet": {}, "resnext": {}}
BUDGETS = ("50%", "25%")
METHODS = ("width", "l1")


def run_row(model: str, data_name: str, seed: int, epochs: dict[str, int]) -> list[dict]:
    import torch

    torch.set_num_threads(1)
    from archfit.compress.pipeline import SlimConfig, check_budget, prepare, run_method
    from archfit.cost import CostModel, count_flops
    from archfit.data import load_data
    from archfit.space.model_width import width_space

    data = load_data(data_name)
    base = SlimConfig(model=model, model_args=MODELS[model], data=data_name, methods=METHODS, seed=seed, **epochs)
    ctx = prepare(base, data=data, log=lambda *_: None)
    stem = next(n for n, m in ctx.model.named_modules() if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d)))
    old = width_space(ctx.model, data.input_shape, base.ratios, ignore=(stem,))
    min_old = CostModel(old)(old.smallest()).flops / count_flops(ctx.model, data.input_shape)
    rows = []
    for budget in BUDGETS:
        ctx.config = SlimConfig(**{**base.__dict__, "max_flops": budget})
        ctx.budget = None
        check_budget(ctx)
        for method in METHODS:
            entry = run_method(ctx, method, log=lambda *_: None)
            entry.pop("model")
            rows.append({"model": model, "data": data_name, "budget": budget, "method": method, "seed": seed,
                         "original_acc": entry["before"]["test_acc"], "test_acc": entry["after"]["test_acc"],
                         "flops_ratio": entry["after"]["flops"] / entry["before"]["flops"],
                         "acc_before_finetune": entry["test_acc_before_finetune"], "seconds": entry["seconds"],
                         "min_ratio_stem_kept": min_old, "groups": len(ctx.space.groups)})
            print(f"{model} {budget} {method} seed {seed}: {100 * rows[-1]['test_acc']:.2f}% "
                  f"at {rows[-1]['flops_ratio']:.3f} of the FLOPs", flush=True)
    return rows


def table(rows: list[dict]) -> str:
    header = ("| model | FLOPs budget | method | test acc % (mean ± sd) | FLOPs kept | original acc % | "
              "smallest reachable with the stem kept | seeds |")
    lines = [header, "|---|---|---|---|---|---|---|---|"]
    keys = sorted({(r["model"], r["budget"], r["method"]) for r in rows},
                  key=lambda k: (list(MODELS).index(k[0]), BUDGETS.index(k[1]), METHODS.index(k[2])))
    for model, budget, method in keys:
        sel = [r for r in rows if (r["model"], r["budget"], r["method"]) == (model, budget, method)]
        acc = 100 * np.array([r["test_acc"] for r in sel])
        orig = 100 * np.array([r["original_acc"] for r in sel])
        lines.append(f"| {model}/{sel[0]['data']} | {budget} | {method} | {acc.mean():.2f} ± {acc.std():.2f} | "
                     f"{np.mean([r['flops_ratio'] for r in sel]):.3f} | {orig.mean():.2f} | "
                     f"{100 * np.mean([r['min_ratio_stem_kept'] for r in sel]):.1f}% | {len(sel)} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", default="digits")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ",".join(MODELS))
    parser.add_argument("--epochs", default="20,6,40,6", help="pretrain,supernet,evaluations,finetune")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    names = ("pretrain_epochs", "supernet_epochs", "evaluations", "finetune_epochs")
    epochs = dict(zip(names, (2, 1, 6, 1) if args.quick else (int(v) for v in args.epochs.split(","))))
    start, rows = time.perf_counter(), []
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for model in args.models.split(","):
            rows += run_row(model, args.data, seed, epochs)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({"epochs": epochs, "data": args.data, "rows": rows,
                                            "seconds": time.perf_counter() - start}, indent=1))
    print(table(rows))
    print(f"{time.perf_counter() - start:.0f} s; {args.out}")


if __name__ == "__main__":
    main()
