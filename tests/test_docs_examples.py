"""The code in docs/extending.md runs as written, and its plug-ins work in a real search."""

import re

import pytest
from pathlib import Path

from archfit.cost import Budget, CostModel
from archfit.estimate.base import Estimate, Estimator
from archfit.run.executors import LocalExecutor
from archfit.run.search import Search
from archfit.run.store import Store
from archfit.space import create_space
from archfit.strategy import create_strategy

DOC = Path(__file__).resolve().parents[1] / "docs" / "extending.md"


@pytest.fixture()
def clean_registries():
    import archfit.space as spaces
    import archfit.strategy as strategies

    spaces.list_spaces(), strategies.list_strategies()  # built-ins registered before the snapshot
    before = dict(spaces._SPACES.classes), dict(strategies._STRATEGIES.classes)
    yield
    for registry, saved in zip((spaces._SPACES.classes, strategies._STRATEGIES.classes), before):
        registry.clear()
        registry.update(saved)


def test_extending_examples_run(tmp_path, clean_registries):
    for block in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        exec(compile(block, str(DOC), "exec"), {})
    space = create_space("mlp")
    model = space.build(space.sample(__import__("numpy").random.default_rng(0)))
    assert model(__import__("torch").zeros(2, 1, 8, 8)).shape == (2, 10)

    class Width(Estimator):
        metric = "score"

        def estimate(self, arch):
            return Estimate({"score": float(arch["h1"] + arch["h2"])})

    search = Search(space, create_strategy("hill"), LocalExecutor(Width()), Store.create(tmp_path / "s", {}),
                    Budget(), CostModel(space), "score", 9, seed=0)
    trials = search.run()
    assert max(t.metrics["score"] for t in trials) == 192.0  # hill climbing finds the widest net
