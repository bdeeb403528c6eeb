import itertools

import numpy as np
import pytest

from archfit.metrics import (
    best_so_far,
    hypervolume_2d,
    kendall_tau,
    pareto_front,
    spearman_rho,
    top_k_precision,
)


def brute_front(values, costs):
    return sorted((i for i in range(len(values)) if not any(
        values[j] >= values[i] and costs[j] <= costs[i] and (values[j] > values[i] or costs[j] < costs[i])
        for j in range(len(values)))), key=lambda i: costs[i])


def test_pareto_front_matches_brute_force():
    rng = np.random.default_rng(0)
    for _ in range(50):
        values, costs = rng.integers(0, 8, 12).tolist(), rng.integers(0, 8, 12).tolist()
        front = pareto_front(values, costs)
        brute = brute_front(values, costs)
        # brute keeps exact duplicates on the front; ours keeps one representative of each
        assert sorted({(values[i], costs[i]) for i in front}) == sorted({(values[i], costs[i]) for i in brute})


def test_hypervolume_hand_computed():
    # points (value, cost): (0.9, 2), (0.5, 1); ref value 0, ref cost 4 -> 0.9*2 + 0.5*1 = 2.3
    assert hypervolume_2d([0.9, 0.5], [2, 1], 0.0, 4) == pytest.approx(2.3)
    assert hypervolume_2d([0.9, 0.5, 0.4], [2, 1, 3], 0.0, 4) == pytest.approx(2.3)  # dominated adds nothing
    assert hypervolume_2d([0.9], [5], 0.0, 4) == 0.0  # beyond the reference


def test_rank_correlations_and_topk():
    a = [1, 2, 3, 4, 5]
    assert kendall_tau(a, a) == pytest.approx(1.0) and spearman_rho(a, a[::-1]) == pytest.approx(-1.0)
    assert top_k_precision([5, 4, 3, 2, 1], [5, 4, 1, 2, 3], 2) == 1.0
    assert top_k_precision([1, 2, 3, 4, 5], [5, 4, 3, 2, 1], 2) == 0.0
    concordant = sum(np.sign(x1 - x2) == np.sign(y1 - y2) for (x1, y1), (x2, y2) in
                     itertools.combinations(zip([1, 3, 2, 5, 4], [2, 1, 3, 5, 4]), 2))
    assert kendall_tau([1, 3, 2, 5, 4], [2, 1, 3, 5, 4]) == pytest.approx((2 * concordant - 10) / 10)


def test_best_so_far():
    assert best_so_far([None, 1.0, 0.5, 2.0, None]) [1:] == [1.0, 1.0, 2.0, 2.0]


def test_oracle_tau_matches_a_simulation_of_noisy_ground_truth():
    from archfit.supernet.groundtruth import oracle_tau

    rng = np.random.default_rng(0)
    seed_taus, oracle_taus = [], []
    for _ in range(400):  # 30 archs, 2 seeds each, noise sd 0.77 x the spread of true accuracies
        truth = rng.normal(size=30)
        a, b = truth + rng.normal(scale=0.77, size=30), truth + rng.normal(scale=0.77, size=30)
        seed_taus.append(kendall_tau(a, b))
        oracle_taus.append(kendall_tau(truth, (a + b) / 2))
    assert oracle_tau(float(np.mean(seed_taus)), 2) == pytest.approx(np.mean(oracle_taus), abs=0.03)
    assert oracle_tau(0.438, 2) > oracle_tau(0.438, 1) > 0.438  # averaging seeds, and the truth itself, rank better
    assert np.isnan(oracle_tau(0.0, 2)) and np.isnan(oracle_tau(0.5, 0))


def test_mean_to_mean_tau_and_split_halves_match_a_simulation():
    """Two independent 2-seed means agree as ``mean_to_mean_tau`` predicts, and ``split_half_taus`` measures
    exactly that agreement from a table of 4 seeds."""
    from types import SimpleNamespace

    from archfit.supernet.groundtruth import mean_to_mean_tau, split_half_taus

    rng = np.random.default_rng(1)
    seed_taus, half_taus, measured = [], [], []
    for _ in range(300):  # 40 archs, 4 seeds each
        truth = rng.normal(size=40)
        runs = truth[:, None] + rng.normal(scale=0.6, size=(40, 4))
        seed_taus.append(kendall_tau(runs[:, 0], runs[:, 1]))
        half_taus.append(kendall_tau(runs[:, :2].mean(1), runs[:, 2:].mean(1)))
        table = [[SimpleNamespace(test_acc=float(v)) for v in row] for row in runs]
        measured.append(split_half_taus(table)["01-23"])
    assert measured == pytest.approx(half_taus)  # the function computes the 01-vs-23 split exactly
    assert mean_to_mean_tau(float(np.mean(seed_taus)), 2) == pytest.approx(np.mean(half_taus), abs=0.03)
    assert mean_to_mean_tau(0.6, 1) == pytest.approx(0.6) and mean_to_mean_tau(0.6, 4) > mean_to_mean_tau(0.6, 2)
    assert set(split_half_taus(table)) == {"01-23", "02-13", "03-12"}


def test_t_interval():
    from archfit.metrics import t_interval

    lo, hi = t_interval([1.0, 2.0, 3.0])  # mean 2, sem 1/sqrt(3), t(0.95, 2) = 2.920
    assert (lo, hi) == pytest.approx((2 - 2.920 / 3 ** 0.5, 2 + 2.920 / 3 ** 0.5), abs=1e-3)
    assert all(np.isnan(v) for v in t_interval([1.0]))
