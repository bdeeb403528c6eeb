"""``archfit bench nb201`` / ``bench proxies`` and ``archfit search --estimator tabular`` end to end."""

from __future__ import annotations

import json

import pytest

from archfit.benchmark.tabular import bench_json, checkpoints_for, random_average, run_benchmark
from archfit.cli import main
from archfit.estimate.tabular import TabularEstimator
from archfit.space import create_space
from nb201_fixtures import write_table


@pytest.fixture(scope="module")
def full_table(tmp_path_factory):
    return write_table(tmp_path_factory.mktemp("full") / "nb201_synthetic.csv")


def test_protocol_charges_each_class_once(full_table):
    space = create_space("nb201")
    estimator = TabularEstimator(space, full_table)
    results = run_benchmark(space, estimator, ["random", "local"], queries=30, seeds=2)
    for runs in results.values():
        assert len(runs.curves) == 2 and all(len(c) == 30 for c in runs.curves)
        assert all(b >= a for c in runs.curves for a, b in zip(c, c[1:]))  # best so far never drops
    data = bench_json(estimator.optimum(), results, checkpoints_for(30))
    assert list(data) == ["optimum", "strategies"] and list(data["strategies"]["local"]) == ["10", "25", "30"]
    point = data["strategies"]["random"]["25"]
    assert set(point) == {"mean", "std", "values"} and len(point["values"]) == 2
    assert point["mean"] == pytest.approx(sum(point["values"]) / 2)
    assert all(v <= data["optimum"] for v in point["values"])
    average = random_average(space, estimator.lookup)
    assert 10.0 < average < estimator.optimum()


def test_bench_nb201_cli(full_table, tmp_path, capsys):
    out = tmp_path / "bench"
    code = main(["bench", "nb201", "--table", str(full_table), "--strategies", "random,bananas", "--queries", "12",
                 "--seeds", "2", "--out", str(out), "--no-progress"])
    assert code == 0
    data = json.loads((out / "bench.json").read_text())
    assert set(data) == {"optimum", "strategies"} and set(data["strategies"]) == {"random", "bananas"}
    assert set(data["strategies"]["bananas"]) == {"10", "12"}
    assert (out / "report.html").read_text().count("<img") == 2
    details = json.loads((out / "details.json").read_text())
    assert details["seeds"] == 2 and "relative_improvement_pct" in details["strategies"]["random"]
    printed = capsys.readouterr().out
    assert "| bananas" in printed and "@12" in printed


def test_bench_errors(full_table, tmp_path, capsys):
    assert main(["bench", "nb201", "--table", str(full_table), "--column", "cifar100_test_acc",
                 "--out", str(tmp_path / "x")]) == 2
    assert "no column 'cifar100_test_acc'" in capsys.readouterr().err
    assert main(["bench", "nb201", "--table", str(full_table), "--strategies", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown strategy 'nope'" in capsys.readouterr().err
    assert main(["bench", "proxies", "--table", str(full_table), "--sample", "two"]) == 2


def test_search_with_the_tabular_estimator(full_table, tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["search", "--space", "nb201", "--space-args", '{"cells": 1, "channels": 4}', "--estimator",
                 "tabular", "--table", str(full_table), "--strategy", "bananas", "--trials", "14", "--out", str(out),
                 "--no-progress"])
    assert code == 0
    results = json.loads((out / "results.json").read_text())
    best = results["best"]
    values = [t["metrics"]["cifar10_test_acc"] for t in results["trials"] if t["state"] == "complete"]
    assert len(values) == 14 and best["metrics"] == {"cifar10_test_acc": max(values)}
    assert best["arch_string"].startswith("|") and results["estimator_kind"] == "tabular"
    assert not (out / "model.safetensors").exists() and (out / "report.html").exists()
    assert "table optimum" in capsys.readouterr().out


def test_search_tabular_needs_a_table(capsys):
    assert main(["search", "--space", "nb201", "--estimator", "tabular"]) == 2
    assert "--table" in capsys.readouterr().err
