"""Paired benchmark arms on a shared machine: run every arm of a seed back to back, cache each (arm, seed).

Why: wall times here drift 2-4x with the load, so arms are compared per seed, run one after the other under
about the same load; each finished (arm, seed) summary is cached atomically so a rerun or a resumed benchmark
runs nothing twice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from archfit.io import atomic_write_json, read_json


def run_interleaved(seeds: Sequence[int], arms: Sequence[str], one_run: Callable[[str, int], object]) -> None:
    """``one_run(arm, seed)`` for every seed, all arms of a seed back to back (``one_run`` skips cached pairs)."""
    for seed in seeds:
        for arm in arms:
            one_run(arm, seed)


def cached_rows(cache: Path, arms: Sequence[str], seeds: Sequence[int]) -> dict[str, list[dict]]:
    """The cached summaries (``{"arm": ..., "seed": ...}`` dicts keyed by anything) of ``arms`` x ``seeds``."""
    stored = read_json(cache, "run summaries") if cache.is_file() else {}
    return {arm: [r for r in stored.values() if r["arm"] == arm and r["seed"] in seeds] for arm in arms}


def cached_row(cache: Path, key: str) -> dict | None:
    """The summary cached under ``key`` (e.g. ``"train/seed0"``), or None."""
    return (read_json(cache, "run summaries") if cache.is_file() else {}).get(key)


def cache_row(cache: Path, key: str, row: dict) -> None:
    """Add one finished summary (re-reading the file first: another process may have added its own)."""
    stored = read_json(cache, "run summaries") if cache.is_file() else {}
    stored[key] = row
    atomic_write_json(cache, stored)


def add_cache_arguments(parser, results: Path, name: str, cache_suffix: str = "") -> None:
    """``--runs`` (run folders, resumable), ``--cache`` (finished summaries), ``--out`` and ``--summarize`` of a
    paired benchmark named ``name`` whose files live in the folder ``results`` (``bench/results``)."""
    parser.add_argument("--runs", type=Path, default=results.parent / "out" / f"{name}_runs{cache_suffix}")
    parser.add_argument("--cache", type=Path, default=results / f"{name}_cache{cache_suffix}.json")
    parser.add_argument("--out", type=Path, default=results / f"{name}.json")
    parser.add_argument("--summarize", action="store_true", help="only the table of the cached runs")
