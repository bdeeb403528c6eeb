"""Noise ceiling of a latency table: the oracle, the model-free double differences and the resolution, on
small synthetic complete grids (3 operations: 729 archs) with known noise."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from archfit.benchmark.latency_noise import double_difference_noise, noise_ceiling, oracle_within, resolution
from archfit.space import create_space
from archfit.space.base import Arch

OPS = ("none", "skip_connect", "nor_conv_3x3")
EDGES = ("n1.in0", "n2.in0", "n2.in1", "n3.in0", "n3.in1", "n3.in2")
COST = {"none": 0.0, "skip_connect": 0.5, "nor_conv_3x3": 3.0}


@pytest.fixture(scope="module")
def grid():
    space = create_space("nb201", ops=list(OPS))
    archs = [Arch(dict(zip(EDGES, ops))) for ops in itertools.product(OPS, repeat=6)]
    clean = np.array([5.0 + sum(COST[a[e]] * (1 + 0.2 * k) for k, e in enumerate(EDGES)) for a in archs])
    return space, archs, clean


def test_clean_additive_table_has_no_noise(grid):
    space, archs, clean = grid
    double = double_difference_noise(archs, clean, space)
    assert double["sigma"] < 1e-3 and double["implied_within_10pct"] == pytest.approx(1.0)
    ceiling = noise_ceiling(archs, clean, space, train=500)
    assert ceiling["within_10pct"] == 1.0 and ceiling["train"] == 500


def test_double_differences_recover_the_log_noise_and_agree_with_the_oracle(grid):
    space, archs, clean = grid
    for sigma in (0.05, 0.15):
        noisy = clean * np.exp(np.random.default_rng(1).normal(0, sigma, len(clean)))
        double = double_difference_noise(archs, noisy, space)
        assert double["sigma"] == pytest.approx(sigma, rel=0.15)
        implied = double["implied_within_10pct"]
        expected = math.erf(0.1 / (sigma * math.sqrt(2)))  # ±~0.1 in log space
        assert implied == pytest.approx(expected, abs=0.05)
        oracle = max(oracle_within(archs, noisy, space, train=500).values())
        assert abs(oracle - implied) < 0.12  # noise, not a missing feature, is what the oracle misses


def test_an_interaction_shows_in_one_pair_not_in_the_noise_estimate(grid):
    """A two-edge interaction inflates the double differences of that one pair only, not the median pair."""
    space, archs, clean = grid
    bumped = clean + np.array([COST[a["n1.in0"]] * COST[a["n2.in1"]] for a in archs])
    double = double_difference_noise(archs, bumped, space)
    assert double["sigma_max_pair"] > 0.05 and double["sigma"] < 1e-3 and double["sigma_min_pair"] < 1e-3


def test_incomplete_grid_or_zero_latency_has_no_model_free_estimate(grid):
    space, archs, clean = grid
    assert double_difference_noise(archs[:-1], clean[:-1], space) is None
    assert double_difference_noise(archs, np.where(np.arange(len(clean)) == 3, 0.0, clean), space) is None


def test_resolution_of_rounded_latencies():
    y = np.array([4.0, 5.0, 7.0, 15.0, 15.0, 30.0])
    res = resolution(y)
    assert res["step_ms"] == 1.0 and res["distinct_values"] == 5
    assert res["step_over_median"] == pytest.approx(1 / 11)
    assert res["rounding_cap"] == pytest.approx(5 / 6)  # 4 ms: ±0.5 ms is more than ±10%
