"""``clock="cpu"`` times with the timing thread's CPU time, everywhere a latency is measured: ``measure_latency``,
the cost model, ProxylessNAS's table and final check, and ``archfit search --latency-clock`` (resume refuses
another clock). The CPU clock is replaced by a fake that advances 1 ms per reading, so a result of exactly
1 ms per pass proves that clock (and not the wall clock) timed it."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
from torch import nn

from archfit.cli import main
from archfit.config import SearchConfig
from archfit.cost import CostModel, measure_latency
from archfit.cost import latency as latency_module
from archfit.errors import ArchfitError
from archfit.space import create_space
from tests.conftest import TINY_SPACE_ARGS

ONE_MS = pytest.approx(1.0, abs=1e-9)


@pytest.fixture()
def fake_cpu_clock(monkeypatch):
    """The "cpu" clock reads 0, 1, 2, ... ms: every timed pass takes exactly 1 ms by it."""
    ticks = itertools.count()
    monkeypatch.setitem(latency_module.CLOCKS, "cpu", lambda: next(ticks) * 1e-3)


def test_measure_latency_uses_the_chosen_clock(fake_cpu_clock):
    cpu = measure_latency(nn.Linear(4, 4), (4,), repeats=10, threads=1, min_seconds=0.02, clock="cpu")
    assert cpu.median_ms == ONE_MS and cpu.p90_ms == ONE_MS and cpu.clock == "cpu"
    assert 20 <= cpu.repeats <= 21  # until 0.02 s of fake time (float sums may need one more)
    wall = measure_latency(nn.Linear(4, 4), (4,), repeats=10, threads=1, min_seconds=0.0)
    assert wall.clock == "wall" and wall.median_ms < 0.5  # a 4x4 linear layer takes microseconds of wall time


def test_bad_clocks_are_one_line_errors():
    with pytest.raises(ArchfitError, match=r"unknown clock 'tsc'; expected one of \['wall', 'cpu'\]"):
        measure_latency(nn.Linear(4, 4), (4,), threads=1, clock="tsc")
    with pytest.raises(ArchfitError, match="clock cpu needs 1 thread \\(got 2\\)"):
        measure_latency(nn.Linear(4, 4), (4,), threads=2, clock="cpu")
    with pytest.raises(ArchfitError, match="--latency-clock cpu needs 1 thread"):
        SearchConfig(latency_clock="cpu", threads=2)
    with pytest.raises(ArchfitError, match="unknown --latency-clock 'gpu'"):
        SearchConfig(latency_clock="gpu")
    assert SearchConfig.from_dict({"seed": 1}).latency_clock == "wall"  # runs stored before clocks existed


def test_cost_model_measures_with_its_clock(fake_cpu_clock, tiny_space):
    arch = tiny_space.sample(np.random.default_rng(0))
    assert CostModel(tiny_space, with_latency=True, threads=1, clock="cpu")(arch).latency_ms == ONE_MS
    assert CostModel(tiny_space, with_latency=True, threads=1)(arch).latency_ms != ONE_MS


def _chain():
    return create_space("chain", input_shape=[1, 8, 8], num_classes=3, stage_channels=[4, 8], max_depth=2,
                        kernels=[3, 5], expansions=[1, 2], widths=[1.0], stem_channels=4, head_channels=8)


def test_proxyless_times_table_and_derived_network_with_one_clock(fake_cpu_clock):
    from archfit.differentiable import DiffSettings, differentiable_search
    from tests.test_differentiable import TINY, tiny_data

    settings = DiffSettings(**{**TINY, "epochs": 1}, method_params={"latency_ms": 1.5, "clock": "cpu"})
    outcome = differentiable_search(_chain(), tiny_data(), "proxyless", settings)
    table, report = outcome.extras["lookup_table"], outcome.extras["latency"]
    # every timed call took 1 fake ms: stem + head = 2, the empty call 1, each block 1 (so it adds 0)
    assert table["clock"] == "cpu" and table["fixed_ms"] == pytest.approx(2.0) and table["call_ms"] == ONE_MS
    assert all(v == ONE_MS for v in table["entries"].values()) and len(table["entries"]) == 16
    assert report["clock"] == "cpu" and report["predicted_ms"] == ONE_MS and report["measured_ms"] == ONE_MS


def test_proxyless_refuses_a_table_of_another_clock():
    from archfit.differentiable.proxyless import Proxyless

    with pytest.raises(ArchfitError, match="lookup table was timed with clock 'wall'"):
        Proxyless(1.0, table={"fixed_ms": 0.1, "entries": {}}, clock="cpu")


def test_search_flag_times_the_final_model_and_resume_refuses_another_clock(fake_cpu_clock, tmp_path, capsys):
    out = tmp_path / "run"
    tiny = ["--space-args", json.dumps(TINY_SPACE_ARGS), "--trials", "2", "--epochs", "1", "--final-epochs", "0",
            "--strategy", "random", "--threads", "1", "--no-progress", "--quiet", "--out", str(out)]
    assert main(["search", *tiny, "--max-latency-ms", "5", "--latency-clock", "cpu"]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["config"]["latency_clock"] == "cpu"
    assert results["best"]["cost"]["latency_ms"] == ONE_MS and "CPU time" in results["units"]["latency_ms"]
    capsys.readouterr()
    assert main(["search", "--out", str(out), "--resume", "--latency-clock", "wall", "--no-progress"]) == 2
    assert "latency_clock: 'cpu' → 'wall'" in capsys.readouterr().err


def test_the_job_takes_proxyless_own_measurement_of_the_derived_net(fake_cpu_clock, tmp_path, monkeypatch):
    """The cost model would time the derived net at 3 ms; ProxylessNAS timed it at 1 (fake) ms: one
    measurement decides, so trial 0 (the derived arch) carries 1 ms."""
    import archfit.cost.model as cost_model
    from archfit.cost import Latency

    monkeypatch.setattr(cost_model, "measure_latency", lambda *a, **k: Latency(3.0, 3.0, 1, 1, 30, "torch", "cpu"))
    out = tmp_path / "px"
    assert main(["search", "--space-args", json.dumps(TINY_SPACE_ARGS), "--method", "proxyless", "--epochs", "1",
                 "--final-epochs", "0", "--threads", "1", "--max-latency-ms", "5", "--latency-clock", "cpu",
                 "--no-progress", "--quiet", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["trials"][0]["cost"]["latency_ms"] == ONE_MS
