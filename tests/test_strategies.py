"""Strategy conformance: every strategy is deterministic per seed, proposes feasible canonical archs,
and on a cheap synthetic objective does better than its first random proposals."""

import numpy as np
import pytest

from archfit.cost import Cost
from archfit.run.trial import Trial, TrialState
from archfit.space import create_space
from archfit.strategy import create_strategy, list_strategies
from archfit.strategy.base import Problem

STRATEGIES = ["random", "evolution", "optuna:tpe", "optuna:nsga2"]


def synthetic(arch) -> float:
    """Higher with deeper/wider/bigger kernels: a smooth objective with a known optimum."""
    return sum(float(v) for k, v in arch.items() if not k.endswith(".b1.kernel"))


def run(strategy_name: str, seed: int, n: int = 40, feasible=lambda a: True):
    space = create_space("chain", stage_channels=[8, 12], max_depth=2)
    strategy = create_strategy(strategy_name)
    strategy.start(Problem(space, "score", feasible, lambda a: Cost(int(synthetic(a) * 1000), 1), "flops", seed))
    asked, seen = [], set()
    for number in range(n):
        arch = strategy.ask()
        assert space.canonical(arch) == arch
        asked.append(arch)
        strategy.tell(Trial(number, arch, TrialState.COMPLETE, metrics={"score": synthetic(arch)}))
        seen.add(arch.key)
    return asked


def test_registry_lists_builtin_strategies():
    names = list_strategies()
    assert {"random", "evolution", "optuna:tpe", "optuna:nsga2"} <= set(names)


@pytest.mark.parametrize("name", STRATEGIES)
def test_deterministic_given_seed(name):
    assert run(name, 3, 15) == run(name, 3, 15)
    assert run(name, 3, 15) != run(name, 4, 15)


@pytest.mark.parametrize("name", STRATEGIES)
def test_only_feasible_archs_are_proposed(name):
    def feasible(arch):
        return arch["s0.width"] != 1.0

    for arch in run(name, 0, 20, feasible):
        assert feasible(arch)


@pytest.mark.parametrize("name", ["evolution", "optuna:tpe"])
def test_guided_strategies_improve_over_their_start(name):
    scores = [np.mean([synthetic(a) for a in run(name, seed, 60)[-15:]]) for seed in range(3)]
    randoms = [np.mean([synthetic(a) for a in run("random", seed, 60)[-15:]]) for seed in range(3)]
    assert np.mean(scores) > np.mean(randoms)


def test_unknown_strategy_and_sampler_are_named():
    from archfit import ArchfitError

    with pytest.raises(ArchfitError, match="unknown strategy 'annealing'"):
        create_strategy("annealing")
    with pytest.raises(ArchfitError, match="unknown Optuna sampler 'foo'"):
        create_strategy("optuna:foo")


def test_evolution_does_not_collapse_onto_known_archs():
    """In a tiny space, regularized evolution keeps proposing new archs until the space is exhausted."""
    space = create_space("chain", stage_channels=[8], max_depth=1, kernels=[3, 5], expansions=[1, 2],
                         widths=[0.5, 1.0])
    strategy = create_strategy("evolution", population=3, sample_size=2)
    strategy.start(Problem(space, "score", lambda a: True, lambda a: Cost(1, 1), "flops", 0))
    keys = []
    for number in range(space.size()):
        arch = strategy.ask()
        keys.append(arch.key)
        strategy.tell(Trial(number, arch, TrialState.COMPLETE, metrics={"score": synthetic(arch)}))
    assert len(set(keys)) >= space.size() - 1
