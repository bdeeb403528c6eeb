"""One proxy study: which archs, their scores (computed and cached, or NASLib's), the ground truth, and
every proxy's and the aggregates' rank correlation with it — the data behind ``archfit bench proxies``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from archfit.benchmark.proxies import (
    ScoreCache,
    ScoreSetting,
    compute_scores,
    read_naslib,
    read_truth,
    sample_archs,
)
from archfit.benchmark.proxies_eval import correlation, correlations, select_aggregate
from archfit.errors import ArchfitError
from archfit.proxies.aggregate import aggregate


@dataclass
class ProxyStudy:
    """Per-arch scores and truth, and the correlations (``results``: proxy or aggregate → record)."""

    archs: list[str]
    truth: list[float]
    scores: dict[str, list[float]]
    source: str  # "computed here (...)" or "NASLib precomputed (...)"
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    selection: dict[str, Any] | None = None
    seconds: dict[str, float] = field(default_factory=dict)  # CPU seconds per proxy, summed over archs


def run_study(table: Path, column: str, sample: int | None, proxies: Sequence[str] | None,
              aggregate_members: Sequence[str], rule: str, setting: ScoreSetting, cache_path: Path | None,
              naslib: Path | None = None, precomputed: bool = False, bootstrap: int = 1000,
              progress: Callable[[int, int], None] | None = None) -> ProxyStudy:
    truth_of = read_truth(table, column)
    reference = read_naslib(naslib) if naslib else None
    pool = sorted(reference) if reference else sorted(truth_of)
    missing = [a for a in pool if a not in truth_of]
    if missing:
        raise ArchfitError(f"--table {table} has no row for {len(missing)} archs, e.g. {missing[0]!r}")
    archs = sample_archs(pool, sample, setting.seed)
    if precomputed:
        if reference is None:
            raise ArchfitError("--precomputed reads NASLib's scores: give --naslib FILE")
        names = list(proxies) if proxies else sorted({k for row in reference.values() for k in row} - {"val_accuracy"})
        archs = [a for a in archs if all(n in reference[a] for n in names)]  # NASLib lacks a few scores
        if len(archs) < 8:
            raise ArchfitError(f"--naslib {naslib}: only {len(archs)} archs have every proxy of {names}")
        scores = {n: [reference[a][n] for a in archs] for n in names}
        study = ProxyStudy(archs, [truth_of[a] for a in archs], scores,
                           f"NASLib precomputed scores ({naslib}, CIFAR-10 minibatches, full-size networks)")
    else:
        from archfit.proxies import list_proxies

        names = list(proxies) if proxies else list_proxies()
        cache = ScoreCache(cache_path, setting)
        scores = compute_scores(archs, names, setting, cache, progress)
        study = ProxyStudy(archs, [truth_of[a] for a in archs], scores, f"computed here ({asdict(setting)})")
        study.seconds = {n: float(sum(cache.seconds[a][n] for a in archs)) for n in names}
    unknown = [m for m in aggregate_members if m not in study.scores]
    if unknown:
        raise ArchfitError(f"--aggregate names {unknown}, not among the scored proxies {sorted(study.scores)}")
    study.results = correlations(study.scores, study.truth, bootstrap, setting.seed)
    for name, cpu in study.seconds.items():
        study.results[name]["cpu_ms_per_arch"] = 1e3 * cpu / len(archs)
    if len(aggregate_members) >= 1:
        label = f"aggregate({rule}: {'+'.join(aggregate_members)})"
        study.scores[label] = aggregate({m: study.scores[m] for m in aggregate_members}, rule).tolist()
        study.results[label] = correlation(study.scores[label], study.truth, bootstrap, setting.seed)
    candidates = {n: v for n, v in study.scores.items() if not n.startswith("aggregate(")
                  and np.ptp(np.asarray(v, dtype=float)) > 0}
    if len(candidates) >= 2 and len(archs) >= 8:
        study.selection = select_aggregate(candidates, study.truth, 4, rule, setting.seed, bootstrap)
    return study


def study_json(study: ProxyStudy, meta: dict[str, Any]) -> dict[str, Any]:
    """``{proxy: {"kendall_tau", "spearman_rho", CIs, "n", "data"}}`` plus ``"_study"`` (how it was made)."""
    data: dict[str, Any] = {name: {**record, "data": study.source} for name, record in study.results.items()}
    data["_study"] = {**meta, "source": study.source, "n_archs": len(study.archs),
                      "held_out_aggregate_selection": study.selection, "archs": study.archs, "truth": study.truth,
                      "scores": study.scores}
    return data
