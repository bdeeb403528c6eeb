"""The nb201 space: arch strings, isomorphism classes (checked against the real table), the network."""

from __future__ import annotations

import csv
import itertools

import numpy as np
import pytest
import torch

from archfit.cost import count_flops, count_params
from archfit.errors import ArchfitError
from archfit.space import create_space
from archfit.space.base import Arch
from archfit.space.nb201 import EDGE_NAMES, OPS, format_arch, is_connected, parse_arch
from nb201_fixtures import REAL_TABLE

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
RESNET = "|nor_conv_3x3~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|none~1|skip_connect~2|"


@pytest.fixture(scope="module")
def space():
    return create_space("nb201")


def test_parse_format_roundtrip(space):
    arch = parse_arch(BEST)
    assert arch["n1.in0"] == "nor_conv_3x3" and arch["n3.in0"] == "skip_connect" and arch["n3.in2"] == "nor_conv_1x1"
    assert format_arch(arch) == BEST
    assert space.parse(space.format(arch)) == arch


@pytest.mark.parametrize("text", [
    "", "|nor_conv_3x3~0|", "|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|conv_5x5~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "nor_conv_3x3~0+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    "|nor_conv_3x3|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
])
def test_malformed_arch_strings_raise(text):
    with pytest.raises(ArchfitError, match="arch string"):
        parse_arch(text)


def test_class_counts_by_enumeration(space):
    assert len(space.all_canonical(valid_only=False)) == 6466  # the published number of unique cells
    valid = space.all_canonical()
    assert len(valid) == 6461  # five classes of cells whose output is always zero
    assert all(space.canonical(arch) == arch for arch in valid[::97])
    invalid = [ops for ops in itertools.product(OPS, repeat=6) if not is_connected(ops)]
    assert len(invalid) == 341


def test_canonical_merges_isomorphic_encodings(space):
    # node 1 = identity of the input, so node 2's two inputs are interchangeable:
    a = parse_arch("|skip_connect~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|none~0|none~1|skip_connect~2|")
    b = parse_arch("|skip_connect~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|none~0|none~1|skip_connect~2|")
    assert space.canonical(a) == space.canonical(b) and a != b
    # nodes 1 and 2 feed nothing when their edges into node 3 are none: their ops do not matter
    c = parse_arch("|avg_pool_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|none~2|")
    d = parse_arch("|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|nor_conv_3x3~0|none~1|none~2|")
    assert space.canonical(c) == space.canonical(d)
    assert space.canonical(a) != space.canonical(c)
    assert space.canonical(parse_arch(BEST)) != space.canonical(parse_arch(RESNET))
    assert space.canonical(space.canonical(a)) == space.canonical(a)


@pytest.mark.skipif(not REAL_TABLE.exists(), reason="shared/nasbench201 table not present")
def test_isomorphism_agrees_with_the_table_column(space):
    with REAL_TABLE.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 15625
    picks = np.random.default_rng(0).choice(len(rows), size=1500, replace=False)
    by_class: dict[str, str] = {}
    for i in picks:
        arch = parse_arch(rows[i]["arch"])
        assert format_arch(arch) == rows[i]["arch"]
        assert space.isomorphism_class(arch) == rows[i]["isomorphism_class"]
        key = space.canonical(arch).key
        # same class in the table <=> same canonical arch here
        assert by_class.setdefault(rows[i]["isomorphism_class"], key) == key
    assert len(set(by_class.values())) == len(by_class)
    dead = [row for row in rows if not space.is_valid(parse_arch(row["arch"]))]
    assert len(dead) == 341 and {float(row["cifar10_test_acc"]) for row in dead} == {10.0}


def test_validity_and_sampling(space):
    dead = Arch(dict(zip(EDGE_NAMES, ["nor_conv_3x3", "none", "none", "none", "none", "avg_pool_3x3"])))
    assert not space.is_valid(dead)
    with pytest.raises(ArchfitError, match="not a valid"):
        space.validate(dead)
    rng = np.random.default_rng(0)
    samples = [space.sample(rng) for _ in range(200)]
    assert all(space.is_valid(a) and space.canonical(a) == a for a in samples)
    assert len({a.key for a in samples}) > 150


def test_neighbours_are_distinct_canonical_and_one_edge_away(space):
    arch = space.canonical(parse_arch(BEST))
    neighbours = space.neighbours(arch)
    assert len(neighbours) == len({n.key for n in neighbours}) and arch.key not in {n.key for n in neighbours}
    assert all(space.canonical(n) == n and space.is_valid(n) for n in neighbours)
    assert all(sum(n[e] != arch[e] for e in EDGE_NAMES) >= 1 for n in neighbours)
    assert len(neighbours) == 24  # every edge x every other op gives a new function here
    rng = np.random.default_rng(1)
    assert space.mutate(arch, rng).key in {n.key for n in neighbours}


def test_path_encoding(space):
    best = space.encode_paths(parse_arch(BEST))
    assert best.shape == (100,) and best.sum() == 4  # every one of the 4 routes is open
    resnet = space.encode_paths(parse_arch(RESNET))
    assert resnet.sum() == 2  # routes 0->3 (skip) and 0->1->2->3; the others cross a none edge
    assert not np.array_equal(best, resnet)


def test_standard_network_cost(space):
    all_conv = Arch({e: "nor_conv_3x3" for e in EDGE_NAMES})
    with torch.device("meta"):
        smallest, largest = space.build(space.smallest()), space.build(all_conv)
    # NAS-Bench-201 (Dong & Yang 2020) reports 0.07M to 1.53M parameters on CIFAR-10
    assert round(count_params(smallest) / 1e6, 2) == 0.07
    assert round(count_params(largest) / 1e6, 2) == 1.53
    small = create_space("nb201", input_shape=[3, 8, 8], cells=1)  # FLOPs counting is slow at full size
    extra = count_flops(small.build(all_conv), small.input_shape) - count_flops(small.build(small.smallest()),
                                                                                small.input_shape)
    # 6 conv 3x3 edges per cell, one cell per stage: C=16 at 8x8, 32 at 4x4, 64 at 2x2; FLOPs = 2 x MACs
    assert extra == 2 * 6 * 9 * (16 * 16 * 64 + 32 * 32 * 16 + 64 * 64 * 4)


@pytest.mark.parametrize("shape,classes", [((3, 12, 12), 10), ((1, 5, 5), 3), ((1, 24), 5)])
def test_build_any_input_shape(shape, classes):
    space = create_space("nb201", input_shape=list(shape), num_classes=classes, channels=4, cells=1)
    torch.manual_seed(0)
    model = space.build(parse_arch(BEST))
    out = model(torch.randn(2, *shape))
    assert out.shape == (2, classes)
    out.sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_restricted_operation_set():
    space = create_space("nb201", ops=["nor_conv_3x3", "none", "skip_connect"])
    assert space.choices["n1.in0"] == ("none", "skip_connect", "nor_conv_3x3")
    assert space.size() == 729
    assert create_space("nb201", **space.params()).choices == space.choices
    with pytest.raises(ArchfitError, match="ops"):
        create_space("nb201", ops=["conv_7x7"])
    with pytest.raises(ArchfitError, match="outside"):
        space.canonical(parse_arch(BEST))
