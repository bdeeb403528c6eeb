import sys

import pytest
import torch
from torch import nn

from archfit import ArchfitError, create_space
from archfit.cost import Budget, Cost, CostModel, count_flops, count_params, measure_latency
from archfit.units import format_quantity, parse_quantity


def test_flops_hand_computed_conv_depthwise_linear():
    # conv 3->8, 3x3, pad 1 on 8x8: MACs = 8*3*9*64; depthwise 8ch 3x3: 8*9*64; linear 8->10: 80
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.ReLU(),
                          nn.Conv2d(8, 8, 3, padding=1, groups=8, bias=False),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 10))
    macs = 8 * 3 * 9 * 64 + 8 * 9 * 64 + 8 * 10
    assert count_flops(model, (3, 8, 8)) == 2 * macs
    assert count_flops(model, (3, 8, 8), batch=4) == 8 * macs


def test_flops_strided_1d_grouped_and_meta():
    model = nn.Sequential(nn.Conv1d(4, 8, 5, stride=2, padding=2, groups=2, bias=False))
    # output length 20; each output channel sees 2 input channels x 5 taps
    assert count_flops(model, (4, 40)) == 2 * 8 * 2 * 5 * 20
    with torch.device("meta"):
        meta = nn.Sequential(nn.Linear(16, 32), nn.ReLU(), nn.Linear(32, 4))
    assert count_flops(meta, (16,)) == 2 * (16 * 32 + 32 * 4)


def test_params_count_shared_once():
    shared = nn.Linear(4, 4)
    model = nn.Sequential(shared, shared)
    assert count_params(model) == 20


def test_cost_model_matches_real_model_and_caches():
    space = create_space("chain")
    arch = space.largest()
    cost = CostModel(space)(arch)
    real = space.build(arch)
    assert cost.flops == count_flops(real, space.input_shape) and cost.params == count_params(real)
    assert cost.latency_ms is None
    smallest = CostModel(space)(space.smallest())
    assert smallest.flops < cost.flops and smallest.params < cost.params


def test_latency_reports_percentiles_and_threads():
    lat = measure_latency(nn.Linear(64, 64), (64,), repeats=10, threads=1)
    assert 0 < lat.median_ms <= lat.p90_ms and lat.threads == 1 and lat.batch == 1
    assert torch.get_num_threads() >= 1


def test_latency_times_a_fast_model_for_at_least_min_seconds():
    fast = measure_latency(nn.Linear(4, 4), (4,), repeats=10, threads=1, min_seconds=0.05)
    # 50 ms of ~10 us passes is thousands of them; >= 50 holds unless a mean pass takes 1 ms (a load-proof bound:
    # median x repeats is not, since preempted passes make the total exceed it), and fails if the floor is ignored
    assert fast.repeats >= 50
    exact = measure_latency(nn.Linear(4, 4), (4,), repeats=10, threads=1, min_seconds=0.0)
    assert exact.repeats == 10


def test_latency_in_onnxruntime_is_recorded_and_restores_the_model():
    model = nn.Sequential(nn.Conv1d(1, 8, 3), nn.BatchNorm1d(8), nn.ReLU(), nn.Flatten(), nn.Linear(8 * 38, 4))
    threads = torch.get_num_threads()
    lat = measure_latency(model, (1, 40), batch=2, repeats=5, threads=1, runtime="onnxruntime")
    assert 0 < lat.median_ms <= lat.p90_ms and lat.runtime == "onnxruntime" and lat.batch == 2 and lat.threads == 1
    assert model.training and torch.get_num_threads() == threads  # mode and torch threads untouched
    assert measure_latency(model, (1, 40), repeats=3, threads=1).runtime == "torch"


def test_latency_runtime_errors(monkeypatch):
    with pytest.raises(ArchfitError, match=r"unknown runtime 'tvm'; expected one of \['torch', 'onnxruntime'\]"):
        measure_latency(nn.Linear(4, 4), (4,), runtime="tvm")
    with pytest.raises(ArchfitError, match="unknown runtime 'tvm'"):
        CostModel(create_space("chain"), runtime="tvm")

    class Bessel(nn.Module):  # an operator ONNX has no export for
        def forward(self, x):
            return torch.special.bessel_j0(x)

    with pytest.raises(ArchfitError, match="cannot time Bessel in onnxruntime: ONNX export failed"):
        measure_latency(Bessel(), (4,), runtime="onnxruntime")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if the onnx extra were not installed
    with pytest.raises(ArchfitError, match=r"pip install 'archfit\[onnx\]'"):
        measure_latency(nn.Linear(4, 4), (4,), runtime="onnxruntime")


def test_cost_model_caches_per_runtime(tiny_space):
    arch = tiny_space.smallest()
    eager = CostModel(tiny_space, with_latency=True, threads=1)
    ort = CostModel(tiny_space, with_latency=True, threads=1, runtime="onnxruntime")
    assert eager(arch).latency_runtime == "torch" and ort(arch).latency_runtime == "onnxruntime"
    assert eager(arch) is eager(arch) and ort(arch) is ort(arch)  # cached within one runtime only


def test_cost_dict_round_trip_and_old_dicts():
    cost = Cost(10, 2, 0.5, 0.6, 1, "onnxruntime")
    assert Cost.from_dict(cost.to_dict()) == cost
    old = {"flops": 10, "params": 2, "latency_ms": 0.5, "latency_p90_ms": 0.6, "latency_threads": 1}
    assert Cost.from_dict(old) == Cost(10, 2, 0.5, 0.6, 1) and Cost.from_dict(old).latency_runtime is None


@pytest.mark.parametrize("text, value", [("5M", 5e6), ("0.3G", 3e8), ("12k", 12e3), ("250", 250.0),
                                         ("1.5e3", 1500.0), (" 2 M ", 2e6)])
def test_parse_quantity(text, value):
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "5X", "-3M", "0", "M", "nan", "1e400"])
def test_parse_quantity_rejects(text):
    with pytest.raises(ArchfitError, match="--max-flops"):
        parse_quantity(text, "--max-flops")


def test_budget_fits_and_explains():
    budget = Budget.parse(max_flops="1M", max_params="10k")
    assert budget.primary == "flops"
    assert budget.fits(Cost(900_000, 9_000))
    reasons = budget.violations(Cost(2_000_000, 9_000))
    assert reasons == ["flops 2M > 1M"]
    assert Budget.parse(max_latency_ms="3").needs_latency
    assert format_quantity(5_300_000) == "5.3M"


def test_latency_budget_is_measured_and_enforced(tiny_space):
    cost = CostModel(tiny_space, with_latency=True, threads=1)
    small, large = cost(tiny_space.smallest()), cost(tiny_space.largest())
    assert small.latency_ms > 0 and small.latency_threads == 1 and small.latency_p90_ms >= small.latency_ms
    assert small.latency_runtime == "torch" and CostModel(tiny_space)(tiny_space.smallest()).latency_runtime is None
    budget = Budget.parse(max_latency_ms="1000")
    assert budget.fits(small) and budget.primary == "latency_ms"
    assert not Budget(max_latency_ms=small.latency_ms / 100).fits(small)
    assert large.flops > small.flops
