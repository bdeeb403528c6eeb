"""The DARTS cell space: NASLib compact and Genotype round trips, canonical slots, build and cost of
genotypes read from a synthetic NASLib-format file, and the shared op registry."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from archfit.cost.flops import count_flops, count_params
from archfit.errors import ArchfitError
from archfit.space import create_space
from archfit.space.darts import NASLIB_OPS
from archfit.space.ops import list_ops, make_op

GENOTYPE = "[[(0, 0), (1, 5), (1, 1), (0, 1), (1, 3), (0, 3), (1, 3), (3, 2)], " \
           "[(1, 0), (0, 2), (1, 3), (0, 3), (3, 0), (0, 1), (2, 0), (3, 6)]]"


@pytest.fixture(scope="module")
def space():
    return create_space("darts", input_shape=[3, 8, 8], num_classes=5, channels=4, layers=3)


def test_compact_round_trip_and_genotype_form(space):
    arch = space.parse(GENOTYPE)
    assert space.format(arch) == GENOTYPE
    assert arch["normal.n2.op1"] == "dil_conv_3x3" and arch["reduce.n5.in1"] == 3
    from archfit.space.darts import format_genotype
    text = format_genotype(arch)
    assert text.startswith("Genotype(normal=[('max_pool_3x3', 0), ('dil_conv_3x3', 1)")
    assert space.parse(text) == arch


def test_random_genotypes_round_trip_and_canonical_sorts_slots(space):
    rng = np.random.default_rng(0)
    for _ in range(20):
        arch = space.sample(rng)
        assert space.parse(space.format(arch)) == arch
    arch = space.parse(GENOTYPE)
    swapped = arch.replace(**{"normal.n2.in0": 1, "normal.n2.op0": "dil_conv_3x3",
                              "normal.n2.in1": 0, "normal.n2.op1": "max_pool_3x3"})
    assert swapped != arch and space.validate(swapped) == space.validate(arch)


def test_bad_genotypes_are_one_line_errors(space):
    with pytest.raises(ArchfitError, match="must be"):
        space.parse("[[(0, 1)], []]")
    with pytest.raises(ArchfitError, match="op index 9"):
        space.parse(GENOTYPE.replace("(3, 6)", "(3, 9)"))
    same_inputs = space.parse(GENOTYPE.replace("(0, 0), (1, 5)", "(1, 0), (1, 5)"))
    with pytest.raises(ArchfitError, match="not a valid architecture"):
        space.validate(same_inputs)


def test_genotypes_of_a_naslib_file_build_and_count(space, tmp_path):
    rng = np.random.default_rng(1)
    texts = [GENOTYPE] + [space.format(space.sample(rng)) for _ in range(3)]
    path = tmp_path / "zc.json"
    path.write_text(json.dumps({"cifar10": {t: {"val_accuracy": 90.0} for t in texts}}))
    costs = set()
    for text in json.loads(path.read_text())["cifar10"]:
        arch = space.validate(space.parse(text))
        torch.manual_seed(0)
        model = space.build(arch)
        assert model(torch.randn(2, 3, 8, 8)).shape == (2, 5)
        costs.add((count_flops(model, (3, 8, 8)), count_params(model)))
    assert len(costs) == len(texts)  # different cells cost differently


def test_skip_cells_cost_less_than_conv_cells(space):
    skip = space.build(space.smallest())
    conv = space.build(space.parse(GENOTYPE.replace(", 0)", ", 4)").replace(", 1)", ", 4)")))
    assert count_params(skip) < count_params(conv)


@pytest.mark.parametrize("name", sorted(set(NASLIB_OPS) | {"none", "nor_conv_1x1", "nor_conv_3x3"}))
@pytest.mark.parametrize("stride", [1, 2])
def test_every_op_builds_at_both_strides(name, stride):
    assert name in list_ops()
    op = make_op(name, 2, 4, 6, stride)
    assert op(torch.randn(2, 4, 8, 8)).shape == (2, 6, 8 // stride, 8 // stride)
    op1d = make_op(name, 1, 4, 4, stride)
    assert op1d(torch.randn(2, 4, 8)).shape == (2, 4, 8 // stride)


def test_unknown_op_is_a_one_line_error():
    with pytest.raises(ArchfitError, match="unknown cell operation 'conv_9x9'"):
        make_op("conv_9x9", 2, 4)


def test_supernet_derivation_keeps_the_two_strongest_edges_per_node(space):
    from archfit.differentiable.darts_supernet import DartsSupernet

    supernet = DartsSupernet(space)
    scores = torch.zeros(28, 8)
    scores[:, 0] = 5.0  # "none" scores highest everywhere: the derivation must ignore it
    scores[2, 4] = 3.0  # normal cell, node 3 <- 0: sep_conv_3x3 (ops are none + NASLIB_OPS)
    scores[4, 2] = 2.0  # normal cell, node 3 <- 2: avg_pool_3x3
    scores[3, 7] = 1.0  # normal cell, node 3 <- 1: weaker than both
    arch = supernet.to_arch(supernet.discretise(scores))
    assert space.is_valid(arch) and space.canonical(arch) == arch
    assert {(arch["normal.n3.in0"], arch["normal.n3.op0"]), (arch["normal.n3.in1"], arch["normal.n3.op1"])} == {
        (0, "sep_conv_3x3"), (2, "avg_pool_3x3")}


@pytest.mark.parametrize("method", ["gdas"])  # one path per edge: seconds; darts/pcdarts run in the bench
def test_search_on_the_darts_space_derives_a_genotype_that_builds_and_trains(method, tmp_path):
    from archfit.data.base import make_module
    from archfit.differentiable import DiffSettings, differentiable_search

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 48)
    x = rng.normal(size=(48, 1, 8, 8)).astype(np.float32)
    data = make_module("tiny", x, y, x[:8], y[:8])
    space = create_space("darts", input_shape=[1, 8, 8], num_classes=3, channels=4, layers=3)
    outcome = differentiable_search(space, data, method, DiffSettings(
        epochs=1, batch_size=16, arch_lr=0.05, eval_samples=16, method_params={"k": 2} if method == "pcdarts" else {}),
        out=tmp_path)
    assert (tmp_path / "cell.png").exists() and (tmp_path / "cell_reduce.png").exists()
    last = np.array(outcome.alpha_history[-1])
    assert last.shape == (28, 8) and not np.allclose(last, last[:, :1])
    assert space.is_valid(outcome.arch) and space.parse(space.format(outcome.arch)) == outcome.arch
    torch.manual_seed(0)
    model = space.build(outcome.arch)
    loss = torch.nn.functional.cross_entropy(model(data.train.x[:8]), data.train.y[:8])
    loss.backward()
    assert torch.isfinite(loss) and model.classifier.weight.grad is not None
