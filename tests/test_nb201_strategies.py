"""Strategies on a tiny synthetic table (124 classes): each finds the optimum, each is deterministic."""

from __future__ import annotations

import pytest

from archfit.benchmark.tabular import run_once
from archfit.errors import ArchfitError
from archfit.estimate.tabular import TabularEstimator
from archfit.space import create_space
from archfit.strategy import create_strategy, list_strategies
from nb201_fixtures import write_table

SMALL_OPS = ("none", "skip_connect", "nor_conv_3x3")
# charged queries each strategy may use (random: every class, it has nothing to learn from)
BUDGETS = {"random": 124, "evolution": 70, "local": 70, "bananas": 40, "optuna:tpe": 50}


@pytest.fixture(scope="module")
def problem(tmp_path_factory):
    space = create_space("nb201", ops=list(SMALL_OPS))
    estimator = TabularEstimator(space, write_table(tmp_path_factory.mktemp("t") / "small.csv", SMALL_OPS))
    assert len(space.all_canonical()) == 124
    return space, estimator


def test_registered():
    assert {"local", "bananas", "random", "evolution"} <= set(list_strategies())


@pytest.mark.parametrize("name", list(BUDGETS))
def test_finds_the_optimum_of_a_tiny_table(problem, name):
    space, estimator = problem
    for seed in (0, 1):
        curve, _ = run_once(name, space, estimator.lookup, estimator.metric, BUDGETS[name], seed)
        assert curve[-1] == estimator.optimum(), f"{name} seed {seed} best {curve[-1]} < {estimator.optimum()}"


@pytest.mark.parametrize("name", ["local", "bananas", "evolution", "optuna:tpe"])
def test_deterministic_given_the_seed(problem, name):
    space, estimator = problem
    runs = [run_once(name, space, estimator.lookup, estimator.metric, 25, seed)[0] for seed in (3, 3, 4)]
    assert runs[0] == runs[1]
    assert len(runs[0]) == 25


def test_bananas_and_local_beat_random_on_average(problem):
    space, estimator = problem
    def mean_best(name: str) -> float:
        return sum(run_once(name, space, estimator.lookup, estimator.metric, 20, s)[0][-1] for s in range(4)) / 4
    assert mean_best("bananas") > mean_best("random")


def test_bad_hyper_parameters_raise():
    with pytest.raises(ArchfitError, match="acquisition"):
        create_strategy("bananas", acquisition="ei")
    with pytest.raises(ArchfitError, match=">= 1"):
        create_strategy("bananas", batch=0)
