"""Budget-aware supernet paths: every rule's random paths fit the budget, the chain space's closed-form cost
equals the counted one, and the search job records the restriction."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from archfit.cli import main
from archfit.cost import count_flops
from archfit.cost.budget import Budget
from archfit.cost.flops import count_params
from archfit.errors import ArchfitError
from archfit.space import create_space
from archfit.supernet.sampler import create_sampler
from archfit.supernet.search import within_budget
from archfit.supernet.supernet import Supernet

torch.set_num_threads(1)
ARGS = {"stage_channels": [8, 16, 24], "max_depth": 2, "kernels": [3, 5], "expansions": [2, 3],
        "widths": [0.5, 0.75, 1.0], "stem_channels": 8, "head_channels": 16}


@pytest.mark.parametrize("shape", [(1, 8, 8), (3, 9, 7), (2, 40), (1, 3, 3)])
def test_chain_exact_cost_equals_counted_cost(shape):
    space = create_space("chain", input_shape=shape, num_classes=7, kernels=[1, 3, 5], expansions=[1, 3],
                         stage_channels=[8, 12, 20], max_depth=3)
    rng = np.random.default_rng(0)
    for arch in [space.smallest(), space.largest()] + [space.sample(rng) for _ in range(12)]:
        with torch.device("meta"):
            model = space.build(arch)
        assert space.exact_cost(arch) == (count_flops(model, space.input_shape), count_params(model))


def test_chain_refuses_even_kernels():
    with pytest.raises(ArchfitError, match=r"kernels \[3, 4\] must be odd"):
        create_space("chain", input_shape=(1, 8, 8), kernels=[3, 4])


def _median_flops(space, n: int = 200) -> float:
    rng = np.random.default_rng(1)
    return float(np.median([space.exact_cost(space.sample(rng))[0] for _ in range(n)]))


@pytest.mark.parametrize("rule", ["uniform", "sandwich", "cafenet", "close"])
def test_restricted_rules_draw_only_feasible_random_paths(rule):
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, **ARGS)
    bound = _median_flops(space) * 0.6  # well under half of the space fits
    feasible, words = within_budget(space, Budget(max_flops=bound))
    assert words.startswith("FLOPs <=")
    torch.manual_seed(0)
    sampler = create_sampler(rule).restrict(feasible, words)
    net = Supernet(space, sampler.max_level).train()
    sampler.start(net, 40, 10)
    sampler.begin_epoch(0, 0)
    x, y = torch.randn(8, 1, 8, 8), torch.randint(0, 10, (8,))
    fixed = {space.largest().key, space.smallest().key} if rule == "sandwich" else set()
    drawn = [p.arch for step in range(12) for p in sampler.paths(step, x, y) if p.arch.key not in fixed]
    assert drawn and all(space.exact_cost(a)[0] <= bound for a in drawn)
    assert len({a.key for a in drawn}) > 1
    assert "within the budget (FLOPs <=" in sampler.describe()
    unrestricted = create_sampler(rule)
    unrestricted.start(net, 40, 10)
    unrestricted.begin_epoch(0, 0)
    free = [p.arch for step in range(12) for p in unrestricted.paths(step, x, y) if p.arch.key not in fixed]
    assert any(space.exact_cost(a)[0] > bound for a in free)  # the restriction is what keeps them in


def test_within_budget_ignores_timed_latency_and_fails_clearly_when_nothing_fits():
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, **ARGS)
    assert within_budget(space, Budget(max_latency_ms=5.0)) == (None, "")
    feasible, words = within_budget(space, Budget(max_params=10))  # below the smallest net
    sampler = create_sampler("uniform").restrict(feasible, words)
    sampler.start(Supernet(space).train(), 10, 10)
    sampler.begin_epoch(0, 0)
    with pytest.raises(ArchfitError, match="none of 20,000 random archs fits"):
        sampler.paths(0, torch.zeros(1), torch.zeros(1))


def test_search_with_budget_paths_records_them(tmp_path):
    tiny = json.dumps({"max_depth": 2, "stage_channels": [8, 16], "kernels": [3, 5], "expansions": [2, 4],
                       "widths": [0.5, 1.0], "stem_channels": 8, "head_channels": 16})
    out = tmp_path / "run"
    args = ["search", "--data", "digits", "--space-args", tiny, "--strategy", "random", "--trials", "2",
            "--estimator", "supernet", "--supernet-epochs", "1", "--supernet-paths", "budget", "--final-epochs", "0",
            "--max-flops", "150K", "--out", str(out), "--no-progress", "--quiet"]
    assert main(args) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["supernet"]["paths"] == "budget"
    assert results["supernet"]["paths_within"] == "FLOPs <= 150k"
    assert "random paths within the budget" in results["supernet"]["sampler"]
    assert main(args[:-4] + ["--supernet-paths", "all", "--out", str(out), "--resume", "--no-progress"]) == 2


def test_bad_supernet_paths_value_fails_in_one_line(tmp_path, capsys):
    assert main(["search", "--data", "digits", "--estimator", "supernet", "--supernet-paths", "some",
                 "--out", str(tmp_path / "x"), "--no-progress"]) == 2
    assert "--supernet-paths" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("shape,ops", [((3, 16, 16), None), ((1, 9, 7), ["skip_connect", "nor_conv_3x3"]),
                                       ((2, 20), ["none", "nor_conv_1x1", "avg_pool_3x3", "nor_conv_3x3"])])
def test_nb201_exact_cost_equals_counted_cost(shape, ops):
    space = create_space("nb201", input_shape=shape, channels=4, cells=2, **({"ops": ops} if ops else {}))
    rng = np.random.default_rng(0)
    for arch in [space.smallest()] + [space.sample(rng) for _ in range(10)]:  # direct counts, then the sum
        with torch.device("meta"):
            model = space.build(arch)
        assert space.exact_cost(arch) == (count_flops(model, space.input_shape), count_params(model))


def test_budget_paths_are_the_default_and_older_stored_runs_resume_as_all():
    from archfit.config import SearchConfig

    assert SearchConfig().supernet_paths == "budget"
    stored = SearchConfig(estimator="supernet").to_dict()
    del stored["supernet_paths"]  # a run stored before the setting existed trained every path
    assert SearchConfig.from_dict(stored).supernet_paths == "all"
    assert SearchConfig.from_dict({**stored, "supernet_paths": "budget"}).supernet_paths == "budget"
