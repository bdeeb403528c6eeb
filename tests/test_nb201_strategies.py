"""Strategies on a tiny synthetic table (124 classes): each finds the optimum, each is deterministic."""

from __future__ import annotations

import pytest

from archfit.benchmark.tabular import run_once
from archfit.cost.budget import Cost
from archfit.run.trial import Trial, TrialState
from archfit.strategy.base import Problem
from archfit.errors import ArchfitError
from archfit.estimate.tabular import TabularEstimator
from archfit.space import create_space
from archfit.strategy import create_strategy, list_strategies
from archfit.space.base import Arch
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


def _asks(name: str, space, estimator, queries: int, seed: int) -> list[str]:
    """Drive a fresh strategy as the harness does and return the key of every arch it asked for, in order."""
    strategy = create_strategy(name)
    strategy.start(Problem(space, estimator.metric, lambda a: True, lambda a: Cost(0, 0), "flops", seed))
    asked: list[str] = []
    seen: dict[str, Trial] = {}
    while len(seen) < queries:
        arch = space.canonical(strategy.ask())
        asked.append(arch.key)
        if arch.key not in seen:
            seen[arch.key] = Trial(len(seen), arch, TrialState.COMPLETE,
                                   metrics={estimator.metric: estimator.lookup(arch)})
        strategy.tell(seen[arch.key])
    return asked


@pytest.mark.parametrize("name", ["local", "bananas", "evolution", "optuna:tpe"])
def test_deterministic_given_the_seed(problem, name):
    space, estimator = problem
    first, again, other = (_asks(name, space, estimator, 12, seed) for seed in (3, 3, 4))
    assert first == again and len(set(first)) == 12
    assert first != other


def test_bad_hyper_parameters_raise():
    with pytest.raises(ArchfitError, match="acquisition"):
        create_strategy("bananas", acquisition="ei")
    with pytest.raises(ArchfitError, match=">= 1"):
        create_strategy("bananas", batch=0)


@pytest.mark.parametrize("params", [{"candidates": "mutation"}, {"candidates": "space", "local": 0, "stall": 0}])
def test_bananas_variants_find_the_optimum(problem, params):
    space, estimator = problem
    strategy = create_strategy("bananas", **params)
    strategy.start(Problem(space, estimator.metric, lambda a: True, lambda a: Cost(0, 0), "flops", 0))
    best, seen = float("-inf"), set()
    while len(seen) < BUDGETS["bananas"]:
        arch = space.canonical(strategy.ask())
        value = estimator.lookup(arch)
        seen.add(arch.key)
        best = max(best, value)
        strategy.tell(Trial(len(seen), arch, TrialState.COMPLETE, metrics={estimator.metric: value}))
    assert best == estimator.optimum()


def test_bananas_local_phase_after_a_stall(problem):
    """After ``stall`` rounds without a better value, a whole round is neighbours of the incumbent."""
    space, estimator = problem
    strategy = create_strategy("bananas", initial=3, batch=3, stall=1)
    strategy.start(Problem(space, estimator.metric, lambda a: True, lambda a: Cost(0, 0), "flops", 0))

    def ask_and_tell(value: float) -> Arch:
        arch = strategy.ask()
        strategy.tell(Trial(0, arch, TrialState.COMPLETE, metrics={estimator.metric: value}))
        return arch

    incumbent = ask_and_tell(3.0)  # the first random arch stays the best: every later round stalls
    ask_and_tell(2.0), ask_and_tell(1.0)
    for _ in range(3):  # round 1: two local picks, one by the acquisition
        ask_and_tell(0.0)
    round_two = [ask_and_tell(0.0) for _ in range(3)]
    neighbours = {n.key for n in space.neighbours(incumbent)}
    assert all(arch.key in neighbours for arch in round_two)


def test_bananas_space_candidates_need_an_enumerable_space():
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10)
    with pytest.raises(ArchfitError, match="lists its classes"):
        create_strategy("bananas", candidates="space").start(
            Problem(space, "acc", lambda a: True, lambda a: Cost(0, 0), "flops", 0))
    with pytest.raises(ArchfitError, match="candidates"):
        create_strategy("bananas", candidates="all")
