"""Masked supernet == extracted model; predicted FLOPs/params == measured; save -> rebuild -> same outputs."""

import numpy as np
import pytest
import torch

from archfit.compress.extract import extract, load_slimmed, save_slimmed
from archfit.compress.pipeline import parse_limit
from archfit.compress.width_search import confirm_best, search_widths, uniform_at_budget
from archfit.compress.width_supernet import ChannelGate
from archfit.cost import CostModel, count_flops, count_params
from archfit.errors import ArchfitError
from archfit.models.mobilenet import MobileNetV2
from archfit.models.resnet import ResNet1d, ResNet20
from archfit.models.toys import ConcatNet, GroupedNet, SEDenseNet
from archfit.models.vit import ViT
from archfit.space.model_width import width_space
from archfit.strategy.boundary import to_boundary

CASES = [
    (lambda: ResNet1d(depth=8, width=8), (1, 16)),
    (lambda: ConcatNet(width=8), (3, 8, 8)),
    (lambda: GroupedNet(width=16), (3, 8, 8)),
    (lambda: SEDenseNet(width=8, growth=8), (3, 8, 8)),
    (lambda: MobileNetV2(in_channels=3, stem=8, last=32, stages=((1, 8, 1, 1), (2, 16, 2, 2))), (3, 8, 8)),
    (lambda: ViT(input_shape=(1, 8, 8), patch=4, dim=16, depth=2, heads=2), (1, 8, 8)),
    (lambda: ResNet20(in_channels=1, width=4), (1, 8, 8)),
]


def _randomise_bn(model):
    for module in model.modules():
        if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
            module.running_mean.normal_()
            module.running_var.uniform_(0.5, 2.0)
            module.weight.data.normal_()
            module.bias.data.normal_()


@pytest.mark.parametrize("case", range(len(CASES)))
def test_extraction_matches_the_masked_supernet_and_the_predicted_cost(case):
    torch.manual_seed(case)
    make, shape = CASES[case]
    model = make().eval()
    _randomise_bn(model)
    space = width_space(model, shape)
    cost = CostModel(space)
    full_flops = count_flops(model, shape)
    gate = ChannelGate(model, space)
    rng = np.random.default_rng(case)
    x = torch.randn(3, *shape)
    for _ in range(2):
        widths = {g.name: g.choices[rng.integers(len(g.choices) - 1)] for g in space.groups}  # never all full
        gate.set_widths(widths)
        with torch.no_grad():
            masked = model(x)
        gate.set_widths(None)
        small = extract(model, space, widths).eval()
        with torch.no_grad():
            assert torch.allclose(masked, small(x), atol=1e-5)
        arch = space.validate(widths)
        assert cost(arch).flops == count_flops(small, shape) < full_flops
        assert cost(arch).params == count_params(small)
    gate.remove()
    fresh = make().eval()
    fresh.load_state_dict(model.state_dict())
    with torch.no_grad():  # hooks removed: the model computes what a hook-free copy computes
        assert torch.equal(model(x), fresh(x))


def test_search_returns_a_config_within_budget_at_least_as_good_as_uniform():
    model = ResNet1d(depth=8, width=8).eval()
    space = width_space(model, (1, 16))
    cost = CostModel(space)
    half = 0.5 * count_flops(model, (1, 16))

    def fits(widths):
        return cost(space.validate(widths)).flops <= half

    weights = {g.name: (i + 1.0) for i, g in enumerate(space.groups)}  # a known score: later groups matter more

    def score(widths):
        return sum(weights[n] * w / space.group(n).channels for n, w in widths.items())

    result = search_widths(space, score, fits, cost, evaluations=40, population=6, seed=0)
    assert fits(result.best) and len(result.history) <= 40
    assert result.score >= score(uniform_at_budget(space, fits))
    edge = to_boundary(space, None, fits, np.random.default_rng(1))
    assert fits(edge)
    grown = [dict(edge, **{g.name: c}) for g in space.groups for c in g.choices if c > edge[g.name]]
    assert all(not fits(w) for w in grown)  # on the boundary: growing any group breaks the budget


def test_a_noisy_budget_check_is_confirmed_best_first():
    history = [({"a": 4}, 0.5), ({"a": 8}, 0.9), ({"a": 6}, 0.7), ({"a": 2}, 0.1)]
    asked = []

    def confirm(widths):  # the widest two measured lucky in the search; timed again they are over budget
        asked.append(widths["a"])
        return widths["a"] <= 4

    assert confirm_best(history, confirm) == ({"a": 4}, 0.5)
    assert asked == [8, 6, 4]  # best score first, stops at the first that passes
    assert confirm_best(history, lambda w: False) is None
    assert confirm_best(history, lambda w: w["a"] == 2, tries=3) is None  # only the 3 best are re-timed


def test_save_rebuild_gives_identical_outputs(tmp_path):
    torch.manual_seed(0)
    model = SEDenseNet(width=8, growth=8).eval()
    space = width_space(model, (3, 8, 8))
    small = space.build(space.smallest()).eval()
    save_slimmed(tmp_path / "m", small, (3, 8, 8), {"model": "se_dense", "model_args": {"width": 8, "growth": 8}})
    rebuilt, record = load_slimmed(tmp_path / "m")
    x = torch.randn(5, 3, 8, 8)
    with torch.no_grad():
        assert torch.equal(rebuilt(x), small(x))
    assert record["model"] == "se_dense"
    assert not list((tmp_path / "m").glob("*.pt")) and not list((tmp_path / "m").glob("*.pkl"))


def test_relative_and_absolute_limits():
    assert parse_limit("50%", 2e6, "--max-flops") == 1e6
    assert parse_limit("20M", 1.0, "--max-flops") == 2e7
    assert parse_limit(None, 1.0, "--max-flops") is None
    for bad in ("150%", "-5%", "abc%", "fifty"):
        with pytest.raises(ArchfitError, match="--max-flops"):
            parse_limit(bad, 1e6, "--max-flops")
