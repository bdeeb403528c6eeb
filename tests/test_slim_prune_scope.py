"""Torch-Pruning baselines in both scopes: the same ratio per group (local) or one ratio ranked across groups
(global); both reach the budget, the global one lands closer to it on a coarse model."""

from __future__ import annotations

import pytest
import torch

from archfit.compress.prune import prune_to_budget, prune_uniform
from archfit.compress.spec import build_model, fill_args
from archfit.cost import count_flops
from archfit.errors import ArchfitError
from archfit.method import create_method
from archfit.space.model_width import width_space

torch.set_num_threads(1)
SHAPE = (1, 8, 8)


def _resnet():
    torch.manual_seed(0)
    model = build_model("resnet20", fill_args("resnet20", {"width": 4}, SHAPE, 10)).eval()
    with torch.no_grad():  # unequal channel magnitudes across groups, as trained weights have
        for i, p in enumerate(model.parameters()):
            p.mul_(1 + (i % 5))
    return model


def test_global_scope_prunes_groups_unequally_and_fits_the_budget():
    model = _resnet()
    space = width_space(model, SHAPE)
    full = count_flops(model, SHAPE)
    local = prune_uniform(model, space, "l1", 0.5)
    ranked = prune_uniform(model, space, "l1", 0.5, scope="global")
    widths = {s: [m.out_channels for m in x.modules() if isinstance(m, torch.nn.Conv2d)] for s, x in
              (("local", local), ("global", ranked))}
    assert widths["local"] != widths["global"]
    for scope in ("local", "global"):
        small, ratio = prune_to_budget(model, space, "l1", lambda m: count_flops(m, SHAPE) <= 0.3 * full,
                                       scope=scope)
        assert count_flops(small, SHAPE) <= 0.3 * full and 0 < ratio < 1
        assert small(torch.randn(2, *SHAPE)).shape == (2, 10)


def test_scopes_are_registered_slim_methods_and_a_bad_scope_fails_in_one_line():
    assert create_method("l1-global", search=False).scope == "global"
    assert create_method("fpgm", search=False).scope == "local"
    with pytest.raises(ArchfitError, match="pruning scope 'wide'"):
        prune_uniform(_resnet(), width_space(_resnet(), SHAPE), "l1", 0.5, scope="wide")
