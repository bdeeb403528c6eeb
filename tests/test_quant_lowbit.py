"""Low-bit weight passes: hard values on the value set after conversion, learnt above chance, bad input refused."""

from __future__ import annotations

import pytest
import torch

from archfit.errors import ArchfitError
from archfit.quantize.lowbit import LowBitConfig, distinct_levels, levels, lowbit_pass, nearest_level
from archfit.train.trainer import accuracy
from tests.test_quant import Tiny, tiny_data, trained


def test_levels_and_rounding():
    assert levels(1).tolist() == [-1.0, 1.0]
    assert torch.allclose(levels(2), torch.tensor([-1.0, -1 / 3, 1 / 3, 1.0]))
    unit = torch.tensor([-2.0, -0.5, -0.1, 0.2, 0.7, 5.0])
    assert torch.allclose(nearest_level(unit, 2), torch.tensor([-1.0, -1 / 3, -1 / 3, 1 / 3, 1.0, 1.0]))
    assert nearest_level(unit, 1).tolist() == [-1.0, -1.0, -1.0, 1.0, 1.0, 1.0]
    with pytest.raises(ArchfitError):
        levels(7)


@pytest.mark.parametrize("method,bits", [("ste", 2), ("sdw", 2), ("ste", 1), ("sdw", 1), ("lbm", 1)])
def test_pass_leaves_low_bit_weights_and_learns(method, bits):
    data = tiny_data(seed=1)
    model = trained(Tiny(), data, epochs=15)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    q = lowbit_pass(model, data, method, LowBitConfig(bits=bits, epochs=2, batch_size=32, seed=0))
    counts = distinct_levels(q)
    assert list(counts) == ["conv2.0"]  # the first and last layers stay float by default
    assert counts["conv2.0"] <= 2 ** bits
    ratios = q.conv2[0].weight.detach().flatten(1)
    alpha = ratios.abs().max(1, keepdim=True).values
    unit = ratios / alpha  # every value is a level of the set times its channel's alpha
    assert torch.allclose(nearest_level(unit, bits), unit, atol=1e-5)
    assert accuracy(q, data.test) > 0.6  # chance is 1/3
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the pass works on a copy


def test_lbm_is_one_bit_only_and_skip_names_are_checked():
    data = tiny_data()
    with pytest.raises(ArchfitError, match="1-bit only"):
        lowbit_pass(Tiny(), data, "lbm", LowBitConfig(bits=2, epochs=0))
    with pytest.raises(ArchfitError, match="unknown low-bit method"):
        lowbit_pass(Tiny(), data, "magic", LowBitConfig(epochs=0))
    with pytest.raises(ArchfitError, match="not a Conv/Linear"):
        lowbit_pass(Tiny(), data, "ste", LowBitConfig(epochs=0, skip=("nope",)))


def test_mixed_precision_space_and_search_under_a_weight_budget():
    from archfit.quantize.mixed import MixedPrecisionSpace, fake_quantize, search_mixed
    from archfit.space.base import Arch

    w = torch.randn(4, 3, 3, 3)
    assert all(len(torch.unique(row)) <= 3 for row in fake_quantize(w, 2))  # -1, 0, +1 times the scale
    assert torch.equal(fake_quantize(w, 32), w)
    data = tiny_data(seed=2)
    model = trained(Tiny(), data, epochs=15)
    space = MixedPrecisionSpace(model, (1, 8, 8))
    assert list(space.choices) == ["conv1.0", "conv2.0", "fc"]
    full = space.weight_bytes(Arch({n: 32 for n in space.choices}))
    assert full == 4 * sum(p.numel() for p in model.parameters())
    budget = 0.3 * full
    result = search_mixed(model, data, budget, evaluations=12, population=4, sample_size=2)
    assert result.weight_bytes <= budget and result.valid_acc > 0.6
    assert all(h["weight_bytes"] <= budget for h in result.history)
    with pytest.raises(ArchfitError, match="cannot be met"):
        search_mixed(model, data, 10.0, evaluations=2)
