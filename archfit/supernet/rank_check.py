"""The ranking harness: supernet scores vs stand-alone accuracy, beside #params and FLOPs as predictors.

Shared by ``archfit rank-check`` and ``bench/supernet_ranking.py``. Everything expensive is cached in
one folder: stand-alone results in ``groundtruth.json`` (per arch and seed), each rule's supernet as
a resumable checkpoint; a rerun with the same settings trains nothing.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch

from archfit.data.base import DataModule
from archfit.estimate.supernet import SupernetEstimator
from archfit.space.base import Arch, Space
from archfit.supernet.fewshot import FewShotSupernet, train_fewshot
from archfit.supernet.groundtruth import GroundTruth, noise_ceiling, oracle_tau, truth_vector
from archfit.supernet.ranking import ranking_metrics, spread, step_throughput
from archfit.supernet.sampler import create_sampler
from archfit.supernet.supernet import Supernet
from archfit.supernet.training import TIMES_FILE, record_seconds, train_supernet
from archfit.train import TrainConfig

Log = Callable[[str], None]


def rule_scores(space: Space, data: DataModule, archs: Sequence[Arch], rule: str, config: TrainConfig, folder: Path,
                prefix: str = "", log: Log | None = None,
                paths_within: tuple[Callable[[Arch], bool], str] | None = None) -> tuple[list[float], float, Supernet]:
    """Train (or resume) one rule's supernet in ``folder`` and score ``archs`` (valid accuracy, fraction).

    ``paths_within`` = ``(feasible, in words)`` restricts the random paths (``Sampler.restrict``); the words,
    reduced to letters, digits and dots, name the checkpoint apart from the unrestricted one. Returns the scores, the supernet's total training wall time
    in seconds, and the supernet.
    """
    sampler = create_sampler(rule)
    if paths_within is not None:
        sampler.restrict(*paths_within)
    torch.manual_seed(config.seed)
    supernet = Supernet(space, sampler.max_level)
    tag = "_" + re.sub(r"[^A-Za-z0-9.]", "", paths_within[1]) if paths_within is not None else ""
    checkpoint = folder / f"{prefix}{rule}{tag}_e{config.epochs}.safetensors"

    def on_epoch(epoch: int, loss: float) -> None:
        if log:
            log(f"{prefix}{rule}: supernet epoch {epoch + 1}/{config.epochs}, mean loss per path {loss:.3f}")

    stats = train_supernet(supernet, sampler, data.train, config, checkpoint, on_epoch=on_epoch)
    seconds = record_seconds(folder / TIMES_FILE, checkpoint.stem, stats)
    estimator = SupernetEstimator(supernet, data, seed=config.seed)
    scores = [estimator.estimate(arch).metrics["valid_acc"] for arch in archs]
    return scores, seconds, supernet


def fewshot_scores(space: Space, data: DataModule, archs: Sequence[Arch], rule: str, config: TrainConfig,
                   split_epoch: int, folder: Path, prefix: str = "", log: Log | None = None,
                   decision: str | None = None) -> tuple[list[float], float, FewShotSupernet]:
    """``rule_scores`` for a few-shot supernet (``archfit.supernet.fewshot``): each arch is scored by the child
    of its choice. Returns the scores, the total training wall time (base and children, seconds) and the
    few-shot supernet."""
    make_sampler = lambda: create_sampler(rule)
    max_level = make_sampler().max_level

    def on_epoch(label: str, epoch: int, loss: float) -> None:
        if log:
            log(f"{prefix}{rule} few-shot {label}: epoch {epoch + 1}/{config.epochs}, mean loss per path {loss:.3f}")

    fewshot = train_fewshot(space, lambda: Supernet(space, max_level), make_sampler, data.train, config, split_epoch,
                            folder, f"{prefix}{rule}_fewshot{split_epoch}_e{config.epochs}", decision,
                            on_epoch=on_epoch)
    estimators = {value: SupernetEstimator(child, data, seed=config.seed) for value, child in fewshot.children.items()}
    scores = [estimators[arch[fewshot.decision]].estimate(arch).metrics["valid_acc"] for arch in archs]
    return scores, float(sum(fewshot.seconds.values())), fewshot


def rank_check(space: Space, data: DataModule, archs: Sequence[Arch], rules: Sequence[str], seeds: Sequence[int],
               standalone: TrainConfig, supernet_config: TrainConfig, folder: Path, prefix: str = "",
               groundtruth_file: Path | None = None, top_k: int = 5, throughput: bool = True,
               log: Log | None = None, cached_only: bool = False) -> dict[str, Any]:
    """Rank-correlation figures of every rule and of the naive predictors against stand-alone accuracy.

    ``cached_only`` trains no stand-alone network: archs without any cached run are left out (the
    figures then say how many archs and runs they rest on).
    """
    result: dict[str, Any] = {}
    supernets: dict[str, Supernet] = {}
    for rule in rules:
        scores, seconds, supernets[rule] = rule_scores(space, data, archs, rule, supernet_config, folder, prefix, log)
        result[rule] = {"scores": scores, "train_seconds": seconds}
    gt = GroundTruth(groundtruth_file or folder / "groundtruth.json", space, data, standalone)

    def on_result(i: int, j: int, run) -> None:
        if log:
            log(f"stand-alone {i + 1}/{len(archs)} seed {seeds[j]}: test acc {run.test_acc:.4f} ({run.seconds:.0f} s)")

    table = gt.collect(archs, seeds, on_result, cached_only=cached_only)
    keep = [i for i, runs in enumerate(table) if runs]
    archs, table = [archs[i] for i in keep], [table[i] for i in keep]
    for rule in rules:
        result[rule]["scores"] = [result[rule]["scores"][i] for i in keep]
    truth = truth_vector(table)
    x, y = data.train.x[:supernet_config.batch_size], data.train.y[:supernet_config.batch_size]
    for rule in rules:
        result[rule].update(ranking_metrics(result[rule]["scores"], truth, top_k))
        if throughput:
            result[rule].update(step_throughput(copy.deepcopy(supernets[rule]), create_sampler(rule), x, y))
    runs = [r[0] for r in table]
    result["params_baseline"] = ranking_metrics([r.params for r in runs], truth, top_k)
    result["flops_baseline"] = ranking_metrics([r.flops for r in runs], truth, top_k)
    ceiling = noise_ceiling(table)
    result["noise_ceiling"] = {"kendall_tau": ceiling, "seeds": list(seeds),
                               "n_archs": sum(len(runs) == len(seeds) for runs in table),
                               "oracle_kendall_tau": oracle_tau(ceiling, len(seeds))}
    result["ground_truth"] = {
        "metric": "stand-alone test accuracy (fraction), mean over seeds", "epochs": standalone.epochs,
        "k": len(archs), "runs": sum(len(runs) for runs in table),
        "archs_with_all_seeds": sum(len(runs) == len(seeds) for runs in table), "accuracy": spread(truth), "flops": spread([r.flops for r in runs]),
        "archs": [{"arch": dict(a), "key": a.key, "test_acc": t, "flops": r.flops, "params": r.params}
                  for a, t, r in zip(archs, truth, runs)]}
    return result


def write_rank_report(result: dict[str, Any], rules: Sequence[str], folder: Path, title: str) -> Path:
    """``report.html``: the figures table and one scatter plot per predictor (score vs stand-alone accuracy)."""
    from archfit.report.html import Report
    from archfit.report.plots import scatter_plot

    report = Report(title)
    gt = result["ground_truth"]
    report.add_text(f"{gt['k']} architectures stratified over FLOPs ({gt['flops']['min']:,.0f} to "
                    f"{gt['flops']['max']:,.0f} FLOPs, 2 x MACs at batch 1); ground truth = {gt['metric']}, "
                    f"{gt['epochs']} epochs; noise ceiling (seed-to-seed Kendall tau) "
                    f"{result['noise_ceiling']['kendall_tau']:.3f}; a perfect predictor would be expected to reach tau "
                    f"{result['noise_ceiling'].get('oracle_kendall_tau', float('nan')):.3f} against this noisy truth.")
    rows = []
    for name in [*rules, "params_baseline", "flops_baseline"]:
        row = result[name]
        topk = next(v for k, v in row.items() if k.startswith("top") and k.endswith("_precision"))
        rows.append([name, row["kendall_tau"], row["spearman_rho"], topk, row.get("train_seconds", "-"),
                     row.get("throughput_ratio", "-")])
    report.add_table(["predictor", "Kendall tau", "Spearman rho", "top-k precision", "supernet training (s)",
                      "step throughput vs stand-alone (x)"], rows)
    truth = [a["test_acc"] for a in gt["archs"]]
    for rule in rules:
        png = scatter_plot(result[rule]["scores"], truth, "supernet valid accuracy (fraction, inherited weights)",
                           "stand-alone test accuracy (fraction)", f"{rule}: tau {result[rule]['kendall_tau']:.3f}")
        report.add_figure(f"scatter_{rule}", png, f"{rule}: each dot one architecture")
    for name, key, label in (("params", "params", "parameters"), ("flops", "flops", "FLOPs (2 x MACs)")):
        png = scatter_plot([a[key] for a in gt["archs"]], truth, label, "stand-alone test accuracy (fraction)",
                           f"{label}: tau {result[f'{name}_baseline']['kendall_tau']:.3f}")
        report.add_figure(f"scatter_{name}", png, f"naive predictor: {label}")
    return report.write(folder)
