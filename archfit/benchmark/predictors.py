"""How well do learned predictors rank unseen architectures? (issue 16, part 4, predictors half)

Protocol: for each training-set size N and seed s, N archs are drawn uniformly (seeded by s) from
the dataset, the predictor is fitted on their labels, and Kendall's τ between its predicted mean and
the labels of ALL the other archs of the dataset is recorded; reported is the mean over seeds with a
bootstrap 95% interval of that mean. Unlabelled archs (the unseen ones, without their labels) are
offered to the semi-supervised and pre-trained predictors, as their papers do.

Datasets: a NAS-Bench-201 CSV (every encoding, e.g. ``cifar10_test_acc``), or a NASLib zero-cost file
(725 archs, NAS-Bench-201 or DARTS, labels ``val_accuracy``) whose proxy scores can be feature columns.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archfit.errors import ArchfitError
from archfit.metrics import kendall_tau
from archfit.predict import create_predictor

SIZES = (25, 50, 100, 200)


@dataclass
class Dataset:
    """Archs, labels, and named encoders (feature sets) over them."""

    name: str
    label: str
    archs: list[Any]
    y: np.ndarray
    encoders: dict[str, Any]


def bootstrap_ci(values: Sequence[float], draws: int = 2000, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """Percentile bootstrap interval of the mean of ``values``."""
    values = np.asarray(values, dtype=np.float64)
    if len(values) < 2:
        return float(values.mean()), float(values.mean())
    means = np.random.default_rng(seed).choice(values, (draws, len(values))).mean(axis=1)
    tail = 100 * (1 - level) / 2
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def nb201_csv_dataset(path: str | Path, column: str, features: Sequence[str]) -> Dataset:
    from archfit.estimate.tabular import parse_row, table_rows
    from archfit.predict.encoding import SpaceEncoder
    from archfit.space import create_space

    space = create_space("nb201")
    rows = list(table_rows(path, column))
    archs = [parse_row(space, path, line, text) for line, text, _ in rows]
    encoders = {}
    for spec in features:
        parts = [p for p in spec.split("+") if p]
        if "zc" in parts:
            raise ArchfitError(f"--features {spec!r}: 'zc' columns need --naslib (the CSV table has no proxy scores)")
        encoders[spec] = SpaceEncoder(space, parts)
    return Dataset(f"nb201 table {Path(path).name}", column, archs, np.array([v for _, _, v in rows]), encoders)


def naslib_dataset(path: str | Path, space_name: str, features: Sequence[str]) -> Dataset:
    from archfit.predict.darts_compact import DartsCompactEncoder
    from archfit.predict.encoding import SpaceEncoder
    from archfit.predict.naslib import read_naslib
    from archfit.space import create_space

    data = read_naslib(path, space_name)
    space = create_space("nb201") if space_name == "nb201" else None
    encoders = {}
    for spec in features:
        parts = [p for p in spec.split("+") if p]
        extra = data.table if "zc" in parts else None
        parts = [p for p in parts if p != "zc"]
        encoders[spec] = SpaceEncoder(space, parts, extra) if space is not None else DartsCompactEncoder(parts, extra)
    return Dataset(f"NASLib {space_name} {Path(path).name}", "val_accuracy", data.archs, data.accuracy, encoders)


def predictor_study(dataset: Dataset, predictors: Sequence[str], sizes: Sequence[int] = SIZES, seeds: int = 10,
                    params: dict[str, dict] | None = None,
                    progress: Callable[[str], None] | None = None) -> dict[str, dict[str, dict]]:
    """``{"<predictor>:<features>": {N: {"kendall_tau_mean", "ci95", "values", "seconds_per_fit"}}}``."""
    for name in predictors:
        create_predictor(name, **(params or {}).get(name, {}))  # unknown names fail before anything runs
    too_big = [n for n in sizes if n >= len(dataset.archs) - 2]
    if too_big:
        raise ArchfitError(f"training sizes {too_big} leave fewer than 3 of {len(dataset.archs)} archs unseen")
    results: dict[str, dict[str, dict]] = {}
    for features, encoder in dataset.encoders.items():
        for name in predictors:
            label = f"{name}:{features}"
            results[label] = {}
            for n in sizes:
                taus, seconds = [], []
                for seed in range(seeds):
                    order = np.random.default_rng(seed).permutation(len(dataset.archs))
                    train, test = order[:n], order[n:]
                    unseen = [dataset.archs[i] for i in test]
                    start = time.perf_counter()
                    model = create_predictor(name, **(params or {}).get(name, {}))
                    model.fit([dataset.archs[i] for i in train], dataset.y[train], encoder, seed=seed, unlabelled=unseen)
                    mean, _ = model.predict(unseen)
                    seconds.append(time.perf_counter() - start)
                    taus.append(kendall_tau(mean, dataset.y[test]))
                low, high = bootstrap_ci(taus)
                results[label][str(n)] = {"kendall_tau_mean": float(np.mean(taus)), "ci95": [low, high],
                                          "values": [float(t) for t in taus],
                                          "seconds_per_fit": float(np.mean(seconds))}
                if progress:
                    progress(f"{label:28s} N={n:4d}  tau {np.mean(taus):.3f} [{low:.3f}, {high:.3f}]  "
                             f"{np.mean(seconds):.1f} s/fit")
    return results
