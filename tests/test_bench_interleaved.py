"""Paired benchmark helpers: arms of a seed run back to back; finished summaries are cached and found again."""

from __future__ import annotations

import argparse

from archfit.benchmark.interleaved import add_cache_arguments, cache_row, cached_row, cached_rows, run_interleaved


def test_arms_interleave_per_seed_and_cached_rows_round_trip(tmp_path):
    order: list[tuple[str, int]] = []
    run_interleaved([0, 1], ["a", "b"], lambda arm, seed: order.append((arm, seed)))
    assert order == [("a", 0), ("b", 0), ("a", 1), ("b", 1)]
    cache = tmp_path / "c.json"
    assert cached_row(cache, "a/seed0") is None and cached_rows(cache, ["a"], [0]) == {"a": []}
    cache_row(cache, "a/seed0", {"arm": "a", "seed": 0, "acc": 0.5})
    cache_row(cache, "b/seed1", {"arm": "b", "seed": 1, "acc": 0.7})
    assert cached_row(cache, "a/seed0")["acc"] == 0.5
    assert cached_rows(cache, ["a", "b"], [1]) == {"a": [], "b": [{"arm": "b", "seed": 1, "acc": 0.7}]}
    parser = argparse.ArgumentParser()
    add_cache_arguments(parser, tmp_path / "results", "x", "_v2")
    args = parser.parse_args([])
    assert args.cache == tmp_path / "results" / "x_cache_v2.json" and args.runs == tmp_path / "out" / "x_runs_v2"
