"""A device latency table as a budget metric of ``archfit search`` (``--latency-table``, ``--device``): the
search bounds the latency measured on that device, read from the table, and never times anything here."""

from __future__ import annotations

import csv
import itertools
import json

import pytest
from nb201_fixtures import write_table

from archfit.cli import main
from archfit.config import SearchConfig
from archfit.errors import ArchfitError
from archfit.space.base import Arch
from archfit.space.nb201 import EDGE_NAMES, format_arch

OPS = ("none", "skip_connect", "nor_conv_3x3")  # 729 archs: a small table, the same code paths

COST = {"none": 0.0, "skip_connect": 0.1, "nor_conv_1x1": 1.0, "nor_conv_3x3": 3.0, "avg_pool_3x3": 0.5}


def device_ms(ops: tuple[str, ...], scale: float) -> float:
    return round(scale * (2.0 + sum(COST[op] for op in ops)), 4)


@pytest.fixture(scope="module")
def tables(tmp_path_factory):
    folder = tmp_path_factory.mktemp("device")
    latency = folder / "latency.csv"
    with latency.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "arch", "phone_ms", "gpu_ms"])
        for i, ops in enumerate(itertools.product(OPS, repeat=len(EDGE_NAMES))):
            writer.writerow([i, format_arch(Arch(dict(zip(EDGE_NAMES, ops)))), device_ms(ops, 1.0),
                             device_ms(ops, 0.1)])
    return write_table(folder / "acc.csv", OPS), latency


def search(tables, out, *extra):
    acc, latency = tables
    return main(["search", "--space", "nb201", "--estimator", "tabular", "--table", str(acc), "--latency-table",
                 str(latency), "--trials", "6", "--space-args", json.dumps({"ops": list(OPS)}), "--no-progress", "--quiet", "--out", str(out), *extra])


def test_the_device_latency_bounds_the_search_and_is_reported(tables, tmp_path):
    assert search(tables, tmp_path / "run", "--device", "phone", "--max-latency-ms", "8") == 0
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert results["budget"]["max_device_latency_ms"] == 8.0 and results["budget"]["max_latency_ms"] is None
    assert results["config"]["device"] == "phone"
    values = [t["cost"]["device_latency_ms"] for t in results["trials"] if t["state"] == "complete"]
    assert values and max(values) <= 8.0  # every trial fits the device bound
    best = results["best"]
    ops = [part.split("~")[0] for part in best["arch_string"].replace("+", "").strip("|").split("|") if part]
    assert best["cost"]["device_latency_ms"] == pytest.approx(device_ms(tuple(ops), 1.0))  # looked up, not timed
    assert best["cost"]["latency_ms"] is None
    # the other device of the same table: the same bound admits costlier archs (a tenth of the latency)
    assert search(tables, tmp_path / "gpu", "--device", "gpu", "--max-latency-ms", "0.8") == 0
    gpu = json.loads((tmp_path / "gpu" / "results.json").read_text())
    assert max(t["cost"]["device_latency_ms"] for t in gpu["trials"] if t["state"] == "complete") <= 0.8


def test_bad_device_settings_are_one_line_and_leave_nothing(tables, tmp_path, capsys):
    assert search(tables, tmp_path / "a", "--device", "toaster", "--max-latency-ms", "8") == 2
    assert "--device 'toaster' is not in --latency-table" in capsys.readouterr().err
    assert search(tables, tmp_path / "b", "--device", "phone", "--max-latency-ms", "1") == 2  # below the cheapest
    err = capsys.readouterr().err
    assert "impossible" in err and "device_latency_ms 2" in err  # the cheapest arch's device latency (2 ms)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    with pytest.raises(ArchfitError, match="--latency-table and --device go together"):
        SearchConfig(space="nb201", estimator="tabular", table="t.csv", device="phone", max_latency_ms="8")


def test_resume_refuses_another_device(tables, tmp_path, capsys):
    assert search(tables, tmp_path / "run", "--device", "phone", "--max-latency-ms", "8") == 0
    capsys.readouterr()
    assert main(["search", "--out", str(tmp_path / "run"), "--resume", "--device", "gpu", "--quiet",
                 "--no-progress"]) == 2
    assert "device: 'phone' → 'gpu'" in capsys.readouterr().err
