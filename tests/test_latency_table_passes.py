"""ProxylessNAS's lookup table is measured in several passes (each entry the median over passes), and on the
CPU clock each timing is the *mean* of the timed calls (means add up, so a sum of entries predicts a network);
``Latency.mean_ms`` carries that mean."""

from __future__ import annotations

import itertools

import pytest
from torch import nn

from archfit.cost import latency as latency_module
from archfit.cost import measure_latency
from archfit.cost.latency import Latency
from archfit.differentiable import latency_table
from archfit.differentiable.chain_supernet import ChainSupernet
from archfit.errors import ArchfitError
from archfit.space import create_space


def _supernet() -> ChainSupernet:
    space = create_space("chain", input_shape=[1, 8, 8], num_classes=3, stage_channels=[4, 8], max_depth=2,
                         kernels=[3, 5], expansions=[1, 2], widths=[1.0], stem_channels=4, head_channels=8)
    return ChainSupernet(space)


def test_mean_ms_is_the_mean_of_the_timed_calls(monkeypatch):
    durations = itertools.cycle([1.0, 1.0, 4.0])  # ms per call: median 1, mean 2
    now = [0.0]

    def clock() -> float:  # each reading after a start reading advances by the next duration
        now[0] += next(durations) * 1e-3 if clock.started else 0.0
        clock.started = not clock.started
        return now[0]

    clock.started = False
    monkeypatch.setitem(latency_module.CLOCKS, "cpu", clock)
    result = measure_latency(nn.Linear(4, 4), (4,), warmup=0, repeats=30, threads=1, min_seconds=0.0, clock="cpu")
    assert result.repeats == 30
    assert result.median_ms == pytest.approx(1.0) and result.mean_ms == pytest.approx(2.0)


def test_each_entry_is_the_median_over_passes():
    supernet = _supernet()
    calls: dict[int, int] = {}
    per_pass = [1.0, 5.0, 2.0]  # the k-th timing of a module: its median over three passes is 2.0

    def timer(module: nn.Module, shape: tuple[int, ...]) -> float:
        k = calls.get(id(module), 0)
        calls[id(module)] = k + 1
        return per_pass[k]

    table = latency_table.measure_table(supernet, timer=timer, rounds=3)
    assert set(calls.values()) == {3}  # every module timed once per pass (stem, head, empty call, each candidate)
    assert table.fixed_ms == pytest.approx(4.0)  # stem + head summed per pass (2, 10, 4), then the median
    assert table.call_ms == pytest.approx(2.0)
    assert table.entries and all(v == pytest.approx(2.0) for v in table.entries.values())


def test_the_cpu_clock_tables_means_and_the_wall_clock_medians(monkeypatch):
    def fake(module, shape, threads, runtime, min_seconds, clock):
        return Latency(1.0, 3.0, 1, 1, 30, runtime, clock, mean_ms=2.0)

    monkeypatch.setattr(latency_table, "measure_latency", fake)
    supernet = _supernet()
    cpu = latency_table.measure_table(supernet, clock="cpu", rounds=1)
    wall = latency_table.measure_table(supernet, clock="wall", rounds=1)
    assert cpu.call_ms == pytest.approx(2.0) and set(cpu.entries.values()) == {2.0}
    assert wall.call_ms == pytest.approx(1.0) and set(wall.entries.values()) == {1.0}


@pytest.mark.parametrize("rounds", [0, 51])
def test_out_of_range_passes_are_one_line_errors(rounds):
    with pytest.raises(ArchfitError, match=f"latency table rounds {rounds} out of range; expected 1..50"):
        latency_table.measure_table(_supernet(), timer=lambda m, s: 1.0, rounds=rounds)
