"""Differentiable search at tiny settings (C=4, 8x8 inputs, a few steps): every registered method runs,
moves alpha, derives a valid rebuildable arch; resume after a kill equals an uninterrupted run."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from archfit.data.base import make_module
from archfit.differentiable import DiffSettings, differentiable_search, list_methods
from archfit.differentiable.mixed import EdgeState, MixedOp
from archfit.errors import ArchfitError
from archfit.space import create_space

TINY = {"epochs": 2, "batch_size": 16, "arch_lr": 0.05, "eval_samples": 32}


def tiny_data(n: int = 80, seed: int = 0):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    x = rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    x[:, 0, :4, :4] += y[:, None, None]  # learnable: the class shows in one quadrant
    return make_module("tiny", x, y, x[:16], y[:16])


@pytest.fixture(scope="module")
def data():
    return tiny_data()


@pytest.fixture(scope="module")
def space():
    return create_space("nb201", input_shape=[1, 8, 8], num_classes=3, channels=4, cells=1)


def test_dartspt_fix_never_trains_alpha_and_selects_by_perturbation(space, data):
    outcome = differentiable_search(space, data, "dartspt-fix", DiffSettings(**TINY, method_params={"tune_steps": 1}))
    assert all(np.allclose(a, 1 / 5) for a in outcome.alpha_history)  # the mixture stays even over the 5 ops
    drops = outcome.extras["accuracy_drop_when_removed"]
    assert len(drops) == 6 and all(len(d) == 5 for d in drops.values())  # every op of every edge was removed once
    assert space.is_valid(outcome.arch)
    with pytest.raises(ArchfitError, match="tune_steps -1 must be >= 0"):
        differentiable_search(space, data, "dartspt", DiffSettings(**TINY, method_params={"tune_steps": -1}))


@pytest.mark.parametrize("method", ["darts", "pcdarts", "gdas", "sharpdarts", "dartspt", "rarts", "ista", "topology",
                                    "robust"])
def test_every_method_moves_alpha_and_derives_a_valid_rebuildable_arch(method, space, data):
    assert method in list_methods()
    params = {"k": 2} if method == "pcdarts" else {"tune_steps": 1} if method == "dartspt" else {}
    outcome = differentiable_search(space, data, method, DiffSettings(**TINY, method_params=params))
    first, last = np.array(outcome.alpha_history[0]), np.array(outcome.alpha_history[-1])
    assert first.shape == last.shape == (6, 5) and len(outcome.alpha_history) == 2
    assert not np.allclose(last, last[:, :1])  # no longer uniform over the ops: alpha moved
    assert space.validate(outcome.arch) == outcome.arch and space.is_valid(outcome.arch)
    torch.manual_seed(0)
    assert space.build(outcome.arch)(data.test.x[:2]).shape == (2, 3)
    assert outcome.wall_s > 0 and outcome.extras["method"] == method


def test_resume_after_a_kill_equals_an_uninterrupted_run(space, data, tmp_path):
    settings = DiffSettings(**{**TINY, "epochs": 3})
    clean = differentiable_search(space, data, "darts", settings, out=tmp_path / "clean")

    def kill_in_epoch_3(report):
        if report["epoch"] == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        differentiable_search(space, data, "darts", settings, out=tmp_path / "run", progress=kill_in_epoch_3)
    assert json.loads((tmp_path / "run" / "search_state.json").read_text())["epoch"] == 2
    resumed = differentiable_search(space, data, "darts", settings, out=tmp_path / "run", resume=True)
    assert resumed.alpha_history == clean.alpha_history and resumed.arch == clean.arch
    for name in ("differentiable.json", "alpha.png", "cell.png"):
        assert (tmp_path / "run" / name).stat().st_size > 0


def test_resume_refuses_other_settings(space, data, tmp_path):
    differentiable_search(space, data, "darts", DiffSettings(**{**TINY, "epochs": 1}), out=tmp_path)
    with pytest.raises(ArchfitError, match="same method and settings"):
        differentiable_search(space, data, "gdas", DiffSettings(**{**TINY, "epochs": 1}), out=tmp_path, resume=True)


def test_progress_reports_an_eta(space, data):
    reports = []
    differentiable_search(space, data, "gdas", DiffSettings(**{**TINY, "epochs": 1}), progress=reports.append)
    assert reports[-1]["step"] == reports[-1]["steps"] and reports[-1]["eta_s"] == 0
    assert all(r["eta_s"] >= 0 and r["elapsed_s"] > 0 for r in reports)


def test_gdas_runs_one_op_per_edge_per_step():
    state = EdgeState()
    op = MixedOp(("none", "skip_connect", "nor_conv_3x3"), 2, 4, edge=0, state=state)
    calls = []
    for i, candidate in enumerate(op.candidates):
        candidate.register_forward_hook(lambda *_, i=i: calls.append(i))
    state.index, state.weights = torch.tensor([2]), torch.ones(1, 3)
    op(torch.randn(2, 4, 5, 5))
    assert calls == [2]


def test_partial_channels_mix_a_quarter_and_keep_the_shape():
    state = EdgeState(weights=torch.full((1, 2), 0.5))
    op = MixedOp(("skip_connect", "nor_conv_3x3"), 2, 8, edge=0, state=state, partial=4)
    assert op.candidates[1][1].in_channels == 2
    assert op(torch.randn(2, 8, 5, 5)).shape == (2, 8, 5, 5)


def test_a_disconnected_argmax_is_repaired(space, data):
    from archfit.differentiable.loop import BilevelLoop
    from archfit.differentiable.method import create_method
    from archfit.differentiable.supernet import Nb201Supernet

    loop = BilevelLoop(Nb201Supernet(space), create_method("darts"), data, DiffSettings(**TINY))
    scores = torch.zeros(6, 5)
    scores[:, 0] = 1.0  # 'none' everywhere: the cell would compute zeros
    scores[3, 3] = 0.9  # the input→output edge's runner-up (smallest margin) is nor_conv_3x3
    ops = loop.valid_ops(scores)
    assert ops[3] == "nor_conv_3x3" and ops.count("none") == 5 and loop.repaired == 1


def test_bad_settings_and_names_are_one_line_errors(space, data):
    with pytest.raises(ArchfitError, match="epochs >= 1"):
        DiffSettings(epochs=0)
    with pytest.raises(ArchfitError, match="unknown differentiable method 'nope'"):
        differentiable_search(space, data, "nope", DiffSettings(**TINY))
    with pytest.raises(ArchfitError, match="bad parameters"):
        differentiable_search(space, data, "gdas", DiffSettings(**TINY, method_params={"k": 2}))


def _chain_case(budget_extra: float):
    from archfit.differentiable.chain_supernet import ZERO, ChainSupernet

    space = create_space("chain", input_shape=[1, 8, 8], num_classes=3, stage_channels=[4, 8], max_depth=2,
                         kernels=[3, 5], expansions=[1, 2], widths=[1.0], stem_channels=4, head_channels=8)
    supernet = ChainSupernet(space)
    entries = {f"{name}/{op}": 0.1 * int(op[1]) * int(op[3])  # k3e1 = 0.3 ms ... k5e2 = 1.0 ms
               for name, ops in zip(supernet.edge_names, supernet.names) for op in ops if op != ZERO}
    floor = 0.2 + 0.3 * 2  # fixed parts + the cheapest first block of each stage
    return space, supernet, {"fixed_ms": 0.2, "entries": entries}, floor + budget_extra


def test_proxyless_respects_a_lookup_table_budget():
    from archfit.differentiable.latency_table import LatencyTable

    space, supernet, table, budget = _chain_case(0.35)
    settings = DiffSettings(**TINY, method_params={"latency_ms": budget, "table": table, "measure": False})
    outcome = differentiable_search(space, tiny_data(), "proxyless", settings)
    lut = LatencyTable("torch", 1, table["fixed_ms"], table["entries"])
    assert lut.predict(supernet, outcome.arch) <= budget + 1e-9
    assert outcome.extras["latency"]["predicted_ms"] <= budget + 1e-9
    assert supernet.from_arch(outcome.arch) == outcome.extras["derived_ops"] or \
        supernet.to_arch(supernet.from_arch(outcome.arch)) == outcome.arch
    assert space.build(outcome.arch)(torch.randn(2, 1, 8, 8)).shape == (2, 3)


def test_proxyless_fill_uses_the_budget_argmax_leaves():
    """With a generous budget, argmax keeps the cheap candidates the short search favours; filling upgrades
    blocks until no further single change fits, and the result still fits."""
    from archfit.differentiable.chain_supernet import ZERO
    from archfit.differentiable.latency_table import LatencyTable

    space, supernet, table, budget = _chain_case(1.5)
    lut = LatencyTable("torch", 1, table["fixed_ms"], table["entries"])
    runs = {}
    for name in ("proxyless", "proxyless-fill"):
        settings = DiffSettings(**TINY, method_params={"latency_ms": budget, "table": table, "measure": False})
        runs[name] = differentiable_search(space, tiny_data(), name, settings)
    plain, filled = (runs[n] for n in ("proxyless", "proxyless-fill"))
    assert plain.alpha_history == filled.alpha_history  # the same search; only the derivation differs
    report = filled.extras["latency"]
    assert report["argmax_predicted_ms"] == pytest.approx(lut.predict(supernet, plain.arch))
    assert report["filled_blocks"] >= 1
    assert lut.predict(supernet, plain.arch) < lut.predict(supernet, filled.arch) <= budget + 1e-9
    ops = filled.extras["derived_ops"]
    spare = budget - lut.predict(supernet, filled.arch)
    for k, op in enumerate(ops):  # no single slower candidate still fits
        now = table["entries"][f"{supernet.edge_names[k]}/{op}"]
        for other in supernet.names[k]:
            if other != ZERO and bool(supernet.allowed[k, supernet.ops.index(other)]):
                extra = table["entries"][f"{supernet.edge_names[k]}/{other}"] - now
                assert not 0 < extra <= spare - 1e-9


def test_proxyless_refuses_an_unreachable_budget():
    space, _, table, budget = _chain_case(-0.1)
    settings = DiffSettings(**{**TINY, "epochs": 1}, method_params={"latency_ms": budget, "table": table,
                                                                    "measure": False})
    with pytest.raises(ArchfitError, match="no network of this supernet fits"):
        differentiable_search(space, tiny_data(), "proxyless", settings)
