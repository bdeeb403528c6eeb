"""How well do latency models predict a real device's latency? (issue 16, part 4, latency half)

Protocol: for every device column of the latency table, N archs (seeded, uniform over all encodings)
are "measured" (their table values), a model is fitted on them, and the share of all of the table's
archs predicted within ±10% of the measured latency is reported (mean over seeds, with a bootstrap
95% interval of that mean). ``transfer``: the device is left out, the other devices' measured
latencies are the features, and only ``transfer_samples`` archs of the left-out device are used.
``noise_ceiling`` per device (``archfit.benchmark.latency_noise``): what any arch-only model could reach.
Anchor: nn-Meter, 99.0% within ±10% on mobile CPUs (Zhang et al., MobiSys 2021; a different space).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from archfit.benchmark.latency_noise import noise_ceiling
from archfit.benchmark.predictors import bootstrap_ci
from archfit.errors import ArchfitError
from archfit.predict import create_latency_model
from archfit.predict.latency_models import within
from archfit.predict.latency_table import read_latency_columns, table_devices
from archfit.space import create_space

TOLERANCE = 0.10


def latency_study(path: str | Path, devices: Sequence[str] | None = None, sizes: Sequence[int] = (20, 100),
                  seeds: int = 10, models: Sequence[str] = ("lut", "hlut", "gbdt"), transfer_samples: int = 20,
                  progress: Callable[[str], None] | None = None, ceiling_train: int = 12000) -> dict:
    """``{"devices": {device: {model: {N: {"within_10pct_mean", "ci95", "values"}}}}, "noise_ceiling": {device:
    ...}, ...}``; ``ceiling_train`` archs fit the oracle of the noise ceiling (0: no ceiling)."""
    space = create_space("nb201")
    every = table_devices(path)
    devices = list(devices or every)
    archs, measured = read_latency_columns(path, space)
    unknown = [d for d in devices if d not in every]
    if unknown:
        raise ArchfitError(f"--devices {unknown} not in --latency-table {path}; available: {every}")
    position = {a.key: i for i, a in enumerate(archs)}
    start = time.perf_counter()
    results: dict = {}
    ceilings: dict = {}
    priors = {d: create_latency_model("hlut").fit(archs, measured[d], space) for d in every}  # denoised sources
    for device in devices:
        y = measured[device]
        per_model: dict = {}
        for name in models:
            per_model[name] = {}
            for n in sizes:
                shares = []
                for seed in range(seeds):
                    picks = np.random.default_rng(seed).choice(len(archs), n, replace=False)
                    model = create_latency_model(name).fit([archs[i] for i in picks], y[picks], space)
                    shares.append(within(model.predict(archs), y, TOLERANCE))
                per_model[name][str(n)] = _summary(shares)
        sources = [_lookup(position, measured[d]) for d in every if d != device]
        shares = []
        for seed in range(seeds):
            picks = np.random.default_rng(seed).choice(len(archs), transfer_samples, replace=False)
            model = create_latency_model("transfer", sources=sources, priors=[priors[d] for d in every if d != device])
            model.fit([archs[i] for i in picks], y[picks], space)
            shares.append(within(model.predict(archs), y, TOLERANCE))
        per_model["transfer"] = {str(transfer_samples): _summary(shares)}
        results[device] = per_model
        ceiling = ""
        if ceiling_train > 0:
            ceilings[device] = noise_ceiling(archs, y, space, TOLERANCE, ceiling_train)
            ceiling = f", ceiling {ceilings[device]['within_10pct']:.3f}"
        if progress:
            progress(f"{device}: " + ", ".join(f"{m}@{n} {v['within_10pct_mean']:.3f}" for m, pts in per_model.items()
                                               for n, v in pts.items()) + ceiling)
    return {"table": str(path), "archs": len(archs), "tolerance": TOLERANCE, "seeds": seeds, "sizes": list(sizes),
            "transfer_samples": transfer_samples, "devices": results, "noise_ceiling": ceilings,
            "ceiling_train": ceiling_train, "seconds": time.perf_counter() - start,
            "protocol": "N archs sampled uniformly (seeded); share of ALL table archs within ±10% of measured; "
                        "transfer: the device left out, other devices' measured latencies and hlut fits as features; "
                        "noise_ceiling: best of hgb/hlut fitted on ceiling_train archs (seed 0), scored on the rest"}


def _lookup(position: dict[str, int], values: np.ndarray) -> Callable:
    return lambda arch: float(values[position[arch.key]])


def _summary(values: Sequence[float]) -> dict:
    low, high = bootstrap_ci(values)
    return {"within_10pct_mean": float(np.mean(values)), "ci95": [low, high], "values": [float(v) for v in values]}
