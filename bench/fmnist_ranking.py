"""Supernet ranking on Fashion-MNIST: every sampling rule at equal training cost vs stand-alone ground truth.

    python bench/fmnist_ranking.py --phase supernets --rules uniform       # one process per rule if cores allow
    python bench/fmnist_ranking.py --phase report --out bench/results/fmnist_ranking.json

Ground truth: ``bench/groundtruth.py`` (its cache folder, ``--cache``): 40 chain archs stratified over FLOPs
plus 16 archs within +-15 % of 1.5M FLOPs (the band), each trained stand-alone with several seeds on the
same data (Fashion-MNIST 14x14, 5,000-image class-balanced training subset, official test set). Each rule
trains one supernet on the same training subset (checkpointed, resumable) with a number of epochs chosen so
that the rules cost about the same (uniform, close: 1 path per step -> 12 epochs; cafenet: 1 path plus a
2-try min-min search -> 9; sandwich: 4 paths incl. the largest -> 3); measured seconds are reported. Every
arch is scored with inherited weights after BatchNorm recalibration on a fixed 5,000-image validation subset
(disjoint from train and test). Reported per rule and for FLOPs/#params as predictors: Kendall tau (with a
bootstrap 90 % interval over archs), Spearman rho, top-10 % precision over all archs, and Kendall tau within
the band (where FLOPs says little).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import groundtruth as gt  # noqa: E402

from archfit.cost.budget import Budget  # noqa: E402
from archfit.data.base import DataModule, Split  # noqa: E402
from archfit.io import atomic_write_json, read_json  # noqa: E402
from archfit.metrics import bootstrap_ci, kendall_tau, spearman_rho, top_k_precision  # noqa: E402
from archfit.supernet.groundtruth import GroundTruth, noise_ceiling, oracle_tau, truth_vector  # noqa: E402
from archfit.supernet.rank_check import fewshot_scores, rule_scores  # noqa: E402
from archfit.supernet.search import within_budget  # noqa: E402
from archfit.train import TrainConfig  # noqa: E402

EPOCHS = {"uniform": 12, "close": 12, "cafenet": 9, "sandwich": 3}  # about equal supernet training cost
VALID = 5000  # validation images used to score inherited weights


def scoring_data(data: DataModule) -> DataModule:
    return DataModule(data.name, data.train, Split(data.valid.x[:VALID], data.valid.y[:VALID]), data.test,
                      data.num_classes)


def train_rules(args) -> None:
    torch.set_num_threads(1)
    data, space, main = gt.setup(args.k, "main")
    band = gt.setup(args.k, "band", args.band_k)[2]
    archs = main + band
    folder = args.cache / "supernets"
    within = None
    if args.paths_max_flops:  # budget-aware paths: only archs a search at this FLOPs bound could choose
        within = within_budget(space, Budget.parse(max_flops=args.paths_max_flops))
    if args.fewshot_split and not args.epochs:
        raise SystemExit("--fewshot-split needs --epochs (the total of the base and each child)")
    for rule in args.rules:
        epochs = args.epochs or EPOCHS[rule]
        name = rule if epochs == EPOCHS[rule] else f"{rule}@{epochs}ep"  # a longer-training probe is its own row
        if within is not None:
            name = f"{rule}[{within[1]}]@{epochs}ep"
        config = TrainConfig(epochs=epochs, batch_size=128, lr=0.1, seed=0)
        log = lambda text: print(f"  {text}", flush=True)  # noqa: E731
        extra: dict = {}
        if args.fewshot_split:  # a few-shot supernet: base to the split epoch, then one child per choice
            scores, seconds, fewshot = fewshot_scores(space, scoring_data(data), archs, rule, config,
                                                      args.fewshot_split, folder, "fmnist_", log, args.fewshot_decision)
            children = len(fewshot.children)
            name = f"{rule}+fewshot[{fewshot.decision}]@{args.fewshot_split}+{children}x{epochs - args.fewshot_split}ep"
            extra = {"fewshot": {"decision": fewshot.decision, "split_epoch": args.fewshot_split,
                                 "children": children, "gradient_agreement": fewshot.agreement,
                                 "seconds": fewshot.seconds},
                     "epoch_equivalents": args.fewshot_split + children * (epochs - args.fewshot_split)}
        else:
            scores, seconds, _ = rule_scores(space, scoring_data(data), archs, rule, config, folder, "fmnist_", log,
                                             paths_within=within)
        file = args.cache / "supernet_scores.json"
        stored = read_json(file, "supernet scores") if file.exists() else {}
        stored[name] = {"epochs": config.epochs, "train_seconds": seconds, **extra,
                        "scores": {a.key: s for a, s in zip(archs, scores)}}
        atomic_write_json(file, stored)
        print(f"{name}: {config.epochs} epochs, {seconds:.0f} s, scored {len(archs)} archs", flush=True)


def figures(pred: list[float], truth: list[float], band_pred: list[float], band_truth: list[float]) -> dict:
    k = max(1, round(0.1 * len(truth)))
    lo, hi = bootstrap_ci(kendall_tau, pred, truth)
    blo, bhi = bootstrap_ci(kendall_tau, band_pred, band_truth)
    return {"kendall_tau": kendall_tau(pred, truth), "kendall_ci90": [lo, hi],
            "spearman_rho": spearman_rho(pred, truth), "top10pct_precision": top_k_precision(pred, truth, k),
            "band_kendall_tau": kendall_tau(band_pred, band_truth), "band_kendall_ci90": [blo, bhi]}


def report(args) -> dict:
    seeds = args.seeds
    merged = args.cache / "groundtruth_fmnist.json"
    data, space, main = gt.setup(args.k, "main")
    band = gt.setup(args.k, "band", args.band_k)[2]
    tables = {which: GroundTruth(merged, space, data, gt.RECIPE).collect(archs, seeds, cached_only=True)
              for which, archs in (("main", main), ("band", band))}
    keep = {which: [i for i, runs in enumerate(t) if runs] for which, t in tables.items()}
    archs = {"main": [main[i] for i in keep["main"]], "band": [band[i] for i in keep["band"]]}
    tables = {w: [tables[w][i] for i in keep[w]] for w in tables}
    truth = {w: truth_vector(tables[w]) for w in tables}
    stored = read_json(args.cache / "supernet_scores.json", "supernet scores")
    result: dict = {"data": data.name, "seeds": seeds, "k": len(archs["main"]), "band_k": len(archs["band"]),
                    "band": {"center_flops": gt.BAND_CENTER, "width": gt.BAND_WIDTH},
                    "noise_ceiling_tau": noise_ceiling(tables["main"]),
                    "band_noise_ceiling_tau": noise_ceiling(tables["band"])}
    result["oracle_tau"] = oracle_tau(result["noise_ceiling_tau"], len(seeds))
    result["band_oracle_tau"] = oracle_tau(result["band_noise_ceiling_tau"], len(seeds))
    for rule, entry in stored.items():
        pred = {w: [entry["scores"][a.key] for a in archs[w]] for w in archs}
        result[rule] = {"epochs": entry.get("epoch_equivalents", entry["epochs"]), "train_seconds": entry["train_seconds"],
                        **figures(pred["main"], truth["main"], pred["band"], truth["band"])}
    for name in ("flops", "params"):
        pred = {w: [getattr(runs[0], name) for runs in tables[w]] for w in tables}
        result[name] = figures(pred["main"], truth["main"], pred["band"], truth["band"])
    print(f"{data.name}: {result['k']} archs (band {result['band_k']}), seeds {seeds}; noise ceiling tau "
          f"{result['noise_ceiling_tau']:.3f} (band {result['band_noise_ceiling_tau']:.3f}); oracle tau "
          f"{result['oracle_tau']:.3f} (band {result['band_oracle_tau']:.3f})")
    print("| predictor | epochs | supernet s | Kendall tau [90% CI] | Spearman rho | top-10% prec. | band tau [90% CI] |")
    print("|---|---|---|---|---|---|---|")
    for name in [*stored, "flops", "params"]:
        row = result[name]
        print(f"| {name} | {row.get('epochs', '-')} | {row.get('train_seconds', float('nan')):.0f} | "
              f"{row['kendall_tau']:.3f} [{row['kendall_ci90'][0]:.2f}, {row['kendall_ci90'][1]:.2f}] | "
              f"{row['spearman_rho']:.3f} | {row['top10pct_precision']:.2f} | {row['band_kendall_tau']:.3f} "
              f"[{row['band_kendall_ci90'][0]:.2f}, {row['band_kendall_ci90'][1]:.2f}] |")
    atomic_write_json(args.out, result)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--phase", choices=["supernets", "report"], default="report")
    parser.add_argument("--rules", nargs="+", default=list(EPOCHS), choices=list(EPOCHS))
    parser.add_argument("--epochs", type=int, help="supernet epochs instead of the equal-cost default (a probe of "
                                                   "training length: stored as a row 'RULE@Nep')")
    parser.add_argument("--paths-max-flops", help="train random paths only among archs within this FLOPs bound "
                                                     "(e.g. 1.725M: the band's top); stored as a row 'RULE[FLOPs <= X]@Nep'")
    parser.add_argument("--fewshot-split", type=int, metavar="EPOCH",
                        help="few-shot splitting: train the supernet to EPOCH of --epochs, then one child per choice of "
                             "a decision (gradient matching picks it) to --epochs; stored as a row "
                             "'RULE+fewshot[DECISION]@EPOCH+KxNep'")
    parser.add_argument("--fewshot-decision", help="the decision to split on instead of gradient matching's pick")
    parser.add_argument("--k", type=int, default=40)
    parser.add_argument("--band-k", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--cache", type=Path, default=Path(__file__).resolve().parent / "results" / "fmnist")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results" / "fmnist_ranking.json")
    args = parser.parse_args()
    train_rules(args) if args.phase == "supernets" else report(args)


if __name__ == "__main__":
    main()
