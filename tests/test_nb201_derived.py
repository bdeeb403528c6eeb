"""Derived columns of a tabular benchmark (``archfit.benchmark.derived``): the robustness checks' objectives."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archfit.benchmark.derived import derived
from archfit.cost.flops import count_params
from archfit.errors import ArchfitError
from archfit.estimate.tabular import TabularEstimator
from archfit.space import create_space
from nb201_fixtures import write_table

SMALL_OPS = ("none", "skip_connect", "nor_conv_3x3")


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    space = create_space("nb201", ops=list(SMALL_OPS))
    return TabularEstimator(space, write_table(tmp_path_factory.mktemp("d") / "small.csv", SMALL_OPS))


def test_transforms_change_values_not_keys(small):
    keys = sorted(small.values_)
    base = np.array([small.values_[k] for k in keys])
    for spec in ("noise:0.3:1", "rank", "target:90", "params:6"):
        copy = derived(small, spec)
        assert sorted(copy.values_) == keys and spec in copy.metric and small.metric == "cifar10_test_acc"
        assert not np.allclose([copy.values_[k] for k in keys], base), spec
    target = derived(small, "target:90")
    assert all(target.values_[k] == pytest.approx(-abs(small.values_[k] - 90)) for k in keys)
    assert derived(small, "noise:0.3:1").values_ == derived(small, "noise:0.3:1").values_  # seeded


def test_params_penalty_counts_the_built_network(small):
    space, lam = small.space, 6.0
    copy = derived(small, f"params:{lam}")
    arch = max(space.all_canonical(), key=lambda a: small.values_[a.key])
    with torch.device("meta"):
        millions = count_params(space.build(arch)) / 1e6
    assert copy.values_[arch.key] == pytest.approx(small.values_[arch.key] - lam * millions)


@pytest.mark.parametrize("spec", ["bogus", "noise:x", "target:", "rank:3", "params:many"])
def test_bad_spec_is_one_line_error(small, spec):
    with pytest.raises(ArchfitError, match="expected one of"):
        derived(small, spec)
