"""Why a supernet ranks Fashion-MNIST archs poorly: does its score carry information beyond FLOPs, and does it
reward capacity as the stand-alone ground truth does? Reads the cached scores and ground truth; trains nothing.

    python bench/fmnist_ranking_diagnosis.py      # prints a table, writes bench/results/fmnist_ranking_diagnosis.json

Per supernet row of ``supernet_scores.json`` and per set (main, band), against the mean over all seeds:
Kendall tau; tau between the residuals of score and accuracy after a linear fit on log FLOPs (information
beyond FLOPs); tau(score, FLOPs) beside tau(accuracy, FLOPs) (how much capacity is rewarded); tau on the
smaller and the larger half of the archs by FLOPs.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from archfit.io import atomic_write_json, read_json  # noqa: E402
from archfit.metrics import kendall_tau  # noqa: E402
from archfit.space.base import Arch  # noqa: E402

CACHE = ROOT / "bench" / "results" / "fmnist"


def residual(values: np.ndarray, log_flops: np.ndarray) -> np.ndarray:
    """``values`` minus their least-squares line on log FLOPs."""
    design = np.c_[np.ones(len(log_flops)), log_flops]
    return values - design @ np.linalg.lstsq(design, values, rcond=None)[0]


def diagnose(scores: np.ndarray, truth: np.ndarray, flops: np.ndarray) -> dict[str, float]:
    order = np.argsort(flops)
    small, large = order[: len(order) // 2], order[len(order) // 2:]
    log_flops = np.log(flops)
    return {"kendall_tau": kendall_tau(scores, truth),
            "residual_kendall_tau": kendall_tau(residual(scores, log_flops), residual(truth, log_flops)),
            "tau_with_flops": kendall_tau(scores, flops),
            "small_half_tau": kendall_tau(scores[small], truth[small]),
            "large_half_tau": kendall_tau(scores[large], truth[large])}


def main() -> None:
    truth_file = read_json(CACHE / "fmnist_groundtruth.json", "ground truth report")
    stored = read_json(CACHE / "supernet_scores.json", "supernet scores")
    result: dict = {}
    print("| set | predictor | tau | tau of FLOPs residuals | tau with FLOPs | small-half tau | large-half tau |")
    print("|---|---|---|---|---|---|---|")
    for which in ("main", "band"):
        archs = truth_file[which]["archs"]
        keys = [Arch(a["arch"]).key for a in archs]
        truth = np.array([np.mean(a["test_acc"]) for a in archs])
        flops = np.array([a["flops"] for a in archs], dtype=float)
        rows = {name: diagnose(np.array([entry["scores"][k] for k in keys]), truth, flops)
                for name, entry in stored.items()}
        rows["ground truth"] = {"tau_with_flops": kendall_tau(truth, flops)}
        rows["flops"] = diagnose(flops, truth, flops)
        result[which] = rows
        for name, row in rows.items():
            cells = [row.get(k) for k in ("kendall_tau", "residual_kendall_tau", "tau_with_flops", "small_half_tau",
                                          "large_half_tau")]
            print(f"| {which} | {name} | " + " | ".join("-" if c is None else f"{c:.3f}" for c in cells) + " |")
    atomic_write_json(ROOT / "bench" / "results" / "fmnist_ranking_diagnosis.json", result)


if __name__ == "__main__":
    main()
