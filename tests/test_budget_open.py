"""An open budget: a mapping metric → bound over the metric registry; a new metric needs no search change."""

import json

import numpy as np
import pytest

from archfit.cost import Budget, Cost, CostModel
from archfit.cost.metrics import _METRICS, register_metric
from archfit.errors import ArchfitError
from archfit.estimate.synthetic import SyntheticTableEstimator
from archfit.run.executors import LocalExecutor
from archfit.run.search import Search
from archfit.run.store import Store
from archfit.strategy import create_strategy
from archfit.units import parse_bytes
from tests.conftest import TINY_SPACE_ARGS


@pytest.mark.parametrize("text, value", [("200KB", 2e5), ("1.5MB", 1.5e6), ("512KiB", 524288.0), ("300", 300.0),
                                         ("2 mb", 2e6), ("1e3B", 1e3)])
def test_parse_bytes(text, value):
    assert parse_bytes(text) == value


@pytest.mark.parametrize("text", ["", "KB", "5XB", "-1KB", "0B", "nan", "1e999MB"])
def test_parse_bytes_refuses_in_one_line(text):
    with pytest.raises(ArchfitError) as err:
        parse_bytes(text, "--max-size")
    assert "--max-size" in str(err.value) and "\n" not in str(err.value)


def test_budget_is_a_mapping_with_the_old_keys():
    old = Budget.parse(max_flops="1M", max_params="10k")
    assert old.bounds == {"flops": 1e6, "params": 1e4} and old.max_flops == 1e6 and old.primary == "flops"
    assert old.to_dict() == {"max_flops": 1e6, "max_params": 1e4, "max_latency_ms": None}
    assert Budget(1e6, 1e4) == old and Budget() .describe() == "unbounded"
    sized = Budget.parse(bounds={"size_bytes": "200KB"})
    assert sized.primary == "size_bytes" and sized.extra_metrics == ["size_bytes"]
    assert sized.to_dict() == {"max_flops": None, "max_params": None, "max_latency_ms": None, "max_size_bytes": 2e5}
    assert sized.describe() == "size <= 200k B"
    assert not sized.fits(Cost(1, 1, extra={"size_bytes": 3e5}))
    assert sized.violations(Cost(1, 1, extra={"size_bytes": 3e5})) == ["size_bytes 300k B > 200k B"]
    with pytest.raises(ArchfitError, match="unknown cost metric 'joules'"):
        Budget(bounds={"joules": 1.0})


def test_cost_round_trips_extra_metrics_and_keeps_the_old_keys():
    plain = Cost(10, 2)
    assert list(plain.to_dict()) == ["flops", "params", "latency_ms", "latency_p90_ms", "latency_threads",
                                     "latency_runtime"]
    sized = Cost(10, 2, extra={"size_bytes": 8.0})
    assert Cost.from_dict(json.loads(json.dumps(sized.to_dict()))) == sized and sized.value("size_bytes") == 8.0


def test_size_bytes_is_the_float32_state_dict(tiny_space):
    arch = tiny_space.sample(np.random.default_rng(0))
    model = tiny_space.build(arch)
    expected = sum(t.numel() * t.element_size() for t in model.state_dict().values())
    cost = CostModel(tiny_space, extra=["size_bytes"])(arch)  # measured on the meta device
    assert cost.value("size_bytes") == expected and expected > 4 * cost.params


def test_a_new_metric_is_one_function_and_one_registry_line(tmp_path, tiny_space):
    """A device latency table, looked up per arch: the search respects it without knowing it."""
    rng = np.random.default_rng(0)
    table = {}

    @register_metric("sim_device_latency_ms", "--max-sim-latency-ms", "device latency", " ms")
    def sim_device_latency_ms(model, space, arch):
        return table.setdefault(arch.key, float(rng.uniform(1, 10)))

    try:
        budget = Budget.parse(bounds={"sim_device_latency_ms": "5"})
        cost = CostModel(tiny_space, extra=budget.extra_metrics)
        search = Search(tiny_space, create_strategy("random"), LocalExecutor(SyntheticTableEstimator(tiny_space)),
                        Store.create(tmp_path / "s.sqlite", {}), budget, cost, "valid_acc", 6, seed=0)
        trials = search.run()
        assert len(trials) == 6 and any(v > 5 for v in table.values())  # the bound was binding
        assert all(t.cost.value("sim_device_latency_ms") <= 5 for t in trials)
    finally:
        _METRICS.classes.pop("sim_device_latency_ms", None)


def test_search_cli_max_size(tmp_path):
    from archfit.cli import main

    out = tmp_path / "run"
    code = main(["search", "--space-args", json.dumps(TINY_SPACE_ARGS), "--trials", "2", "--epochs", "1",
                 "--final-epochs", "0", "--strategy", "random", "--max-size", "10KB", "--out", str(out),
                 "--no-progress", "--quiet"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    assert results["budget"]["max_size_bytes"] == 1e4 and results["budget_text"] == "size <= 10k B"
    assert 0 < results["best"]["cost"]["size_bytes"] <= 1e4
    assert all(t["cost"]["size_bytes"] <= 1e4 for t in results["trials"])
    assert main(["search", "--max-size", "10XB", "--out", str(tmp_path / "bad"), "--no-progress"]) == 2
    assert not (tmp_path / "bad").exists()
