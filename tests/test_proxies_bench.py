"""``archfit bench proxies``: NASLib's arch encoding, bootstrap correlations, the rank aggregate and its
held-out selection, and the CLI end to end on synthetic files (computed and precomputed modes, cache)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from nb201_fixtures import synthetic_value, write_table

from archfit.benchmark.proxies import naslib_arch_string, read_naslib
from archfit.benchmark.proxies_eval import correlation, select_aggregate
from archfit.cli import main
from archfit.errors import ArchfitError
from archfit.proxies.aggregate import aggregate
from archfit.space.nb201 import EDGE_NAMES, OPS, parse_arch

NASLIB_OPS = ["skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3"]


def test_naslib_keys_map_to_nas_bench_201_strings():
    # edges in NASLib order (1,2),(1,3),(1,4),(2,3),(2,4),(3,4); ops skip, none, conv3, conv1, pool
    assert naslib_arch_string("(0, 1, 1, 1, 1, 1)") == "|skip_connect~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    assert naslib_arch_string("(1, 1, 2, 1, 1, 1)") == "|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|"
    assert naslib_arch_string("(1, 1, 1, 3, 1, 4)") == "|none~0|+|none~0|nor_conv_1x1~1|+|none~0|none~1|avg_pool_3x3~2|"
    with pytest.raises(ArchfitError, match="6 op indices"):
        naslib_arch_string("(0, 1, 9, 1, 1, 1)")


def test_aggregate_adds_ranks_or_log_ranks():
    scores = {"a": [1.0, 2.0, 3.0, 4.0], "b": [40.0, 10.0, 30.0, 20.0]}
    # ranks / n: a = .25 .5 .75 1, b = 1 .25 .75 .5
    assert aggregate(scores, "rank") == pytest.approx([1.25, 0.75, 1.5, 1.5])
    assert aggregate(scores, "log-rank") == pytest.approx(np.log([0.25, 0.125, 0.5625, 0.5]))
    assert aggregate({"a": [1.0, 1.0, 2.0]}, "rank") == pytest.approx([0.5, 0.5, 1.0])  # ties share
    with pytest.raises(ArchfitError, match="different numbers"):
        aggregate({"a": [1.0, 2.0], "b": [1.0]})
    with pytest.raises(ArchfitError, match="NaN"):
        aggregate({"a": [1.0, float("nan")]})
    with pytest.raises(ArchfitError, match="rule 'mean'"):
        aggregate(scores, "mean")


def test_bootstrap_interval_holds_the_estimate_and_perfect_ranks_are_exact():
    rng = np.random.default_rng(0)
    truth = rng.normal(size=200)
    exact = correlation(truth * 3 + 1, truth, bootstrap=50)
    assert exact["kendall_tau"] == pytest.approx(1.0) and exact["kendall_tau_ci95"] == pytest.approx([1.0, 1.0])
    noisy = correlation(truth + rng.normal(size=200), truth, bootstrap=200)
    lo, hi = noisy["kendall_tau_ci95"]
    assert lo < noisy["kendall_tau"] < hi and 0.02 < hi - lo < 0.3 and noisy["n"] == 200


def test_selection_finds_the_informative_proxies_and_reports_the_held_out_half():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=300), rng.normal(size=300)
    truth = a + b
    scores = {"a": a, "b": b, "noise": rng.normal(size=300), "weak": truth + 3 * rng.normal(size=300)}
    chosen = select_aggregate(scores, truth, max_size=3, bootstrap=20)
    assert set(chosen["members"]) == {"a", "b"} and chosen["held_out"]["n"] == 150
    assert chosen["held_out"]["kendall_tau"] > correlation(scores["weak"], truth, 0)["kendall_tau"]


def write_naslib(path, table_path, count=12):
    """A NASLib-layout JSON over ``count`` archs with a conv; its ``flops`` is the table's own value."""
    keys = {}
    for i in range(5 ** 6):
        digits = [(i // 5 ** k) % 5 for k in range(6)]
        key = "(" + ", ".join(map(str, digits)) + ")"
        text = naslib_arch_string(key)
        convs = text.count("conv")
        if convs == 0 or "none~0|+|none~0" in text:
            continue
        arch = parse_arch(text)
        truth = synthetic_value(tuple(str(arch[name]) for name in EDGE_NAMES))
        keys[key] = {"val_accuracy": 80.0 + convs, "flops": {"score": truth, "time": 0.1},
                     "nwot": {"score": float(i % 7), "time": 0.1}}
        if len(keys) == count:
            break
    keys[next(iter(keys))].pop("nwot")  # NASLib's file lacks a few scores too
    path.write_text(json.dumps({"cifar10": keys}))
    return path


def test_read_naslib_maps_names_and_refuses_other_layouts(tmp_path):
    table = write_table(tmp_path / "t.csv")
    data = read_naslib(write_naslib(tmp_path / "zc.json", table))
    assert len(data) == 12 and sum("naswot" in row for row in data.values()) == 11
    assert all(all(op in OPS for op in s.replace("|", " ").replace("+", " ").replace("~", " ").split()
                   if not op.isdigit()) for s in data)
    (tmp_path / "bad.json").write_text('{"cifar100": {}}')
    with pytest.raises(ArchfitError, match="no 'cifar10' object"):
        read_naslib(tmp_path / "bad.json")


def test_bench_proxies_precomputed_naslib(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv")
    naslib = write_naslib(tmp_path / "zc.json", table)
    out = tmp_path / "pre"
    assert main(["bench", "proxies", "--table", str(table), "--naslib", str(naslib), "--precomputed",
                 "--sample", "all", "--aggregate", "flops,naswot", "--bootstrap", "20", "--out", str(out)]) == 0
    data = json.loads((out / "proxies.json").read_text())
    assert set(data) == {"flops", "naswot", "aggregate(log-rank: flops+naswot)", "_study"}
    assert data["flops"]["n"] == 11 and data["flops"]["kendall_tau"] == pytest.approx(1.0)
    assert "NASLib precomputed" in data["flops"]["data"] and (out / "report.html").exists()
    assert "Kendall τ" in capsys.readouterr().out


def test_bench_proxies_computes_resumes_and_refuses_a_foreign_cache(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv")
    out, cache = tmp_path / "run", tmp_path / "cache.json"
    args = ["bench", "proxies", "--table", str(table), "--sample", "10", "--proxies", "synflow,naswot,flops",
            "--aggregate", "synflow,naswot", "--channels", "2", "--image-size", "8", "--batch", "4",
            "--bootstrap", "10", "--cache", str(cache), "--out", str(out), "--json", str(tmp_path / "p.json")]
    assert main(args) == 0
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["_study"]["n_archs"] == 10 and -1 <= data["synflow"]["kendall_tau"] <= 1
    assert "cpu_ms_per_arch" in data["naswot"] and (out / "tau_0.png").exists()
    stored = json.loads(cache.read_text())
    assert len(stored["scores"]) == 10
    stored["scores"][data["_study"]["archs"][0]]["synflow"] = 1e300  # a cached value is used, not recomputed
    cache.write_text(json.dumps(stored))
    assert main(args) == 0
    assert json.loads((tmp_path / "p.json").read_text())["_study"]["scores"]["synflow"][0] == 1e300
    capsys.readouterr()
    assert main(args[:-4] + ["--channels", "4"] + args[-4:]) == 2  # another setting, same cache
    assert "was made with setting" in capsys.readouterr().err


def test_bench_proxies_errors(tmp_path, capsys):
    table = write_table(tmp_path / "t.csv")
    assert main(["bench", "proxies", "--table", str(table), "--sample", "two"]) == 2
    assert main(["bench", "proxies", "--table", str(table), "--precomputed", "--out", str(tmp_path)]) == 2
    assert "--naslib" in capsys.readouterr().err
    assert main(["bench", "proxies", "--table", str(table), "--proxies", "nope", "--out", str(tmp_path)]) == 2
    assert "unknown zero-cost proxy 'nope'" in capsys.readouterr().err
