"""Extraction: the physical sub-network equals the supernet's active path (output, FLOPs, structure)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archfit.cost import count_flops
from archfit.space import create_space
from archfit.supernet.elastic import ElasticBlock
from archfit.supernet.supernet import Supernet

SMALL = {"stage_channels": [8, 12, 16], "max_depth": 2, "kernels": [3, 5], "expansions": [1, 2, 3],
         "widths": [0.5, 0.75, 1.0], "stem_channels": 8, "head_channels": 16}

torch.set_num_threads(1)


def perturbed(space, level: int = 0) -> Supernet:
    """A supernet whose BN statistics, affine terms and kernel transforms are far from their defaults,
    so that a wrongly sliced tensor shows up in the output."""
    torch.manual_seed(0)
    net = Supernet(space, max_level=level)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                module.running_mean.uniform_(-0.5, 0.5)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.3, 0.3)
        for name, param in net.named_parameters():
            if "transforms" in name:
                param.add_(0.1 * torch.randn_like(param))
    return net.eval()


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 24)], ids=["2d", "1d"])
def test_extract_matches_active_path_output_flops_and_structure(shape):
    space = create_space("chain", input_shape=shape, num_classes=10, **SMALL)
    net, rng = perturbed(space), np.random.default_rng(0)
    x = torch.randn(5, *shape)
    archs = [space.smallest(), space.largest()] + [space.sample(rng) for _ in range(6)]
    for arch in archs:
        with torch.no_grad():
            expected = net.activate(arch)(x)
            model = net.extract(arch).eval()
            got = model(x)
        assert float((expected - got).abs().max()) < 1e-5
        reference = space.build(arch)
        assert count_flops(model, space.input_shape) == count_flops(reference, space.input_shape)
        assert {k: v.shape for k, v in model.state_dict().items()} == {k: v.shape for k, v in reference.state_dict().items()}


def test_kernel_transform_and_different_archs_give_different_outputs():
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, **SMALL)
    net = perturbed(space)
    block = net.blocks[0][0]
    with torch.no_grad():
        block.transforms["3"].copy_(torch.eye(9))
    centre = block.dw_w[:4, :, 1:4, 1:4]
    assert torch.equal(block.dw_weight(4, 3), centre)  # identity transform = plain centre crop
    x = torch.randn(3, 1, 8, 8)
    large, small = space.largest(), space.largest().replace(**{"s0.b0.kernel": 3})
    with torch.no_grad():
        assert not torch.allclose(net.activate(large)(x), net.activate(small)(x))


def test_banks_and_free_channel_sets_extract_exactly():
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, **SMALL)
    net, rng, x = perturbed(space, level=2), np.random.default_rng(1), torch.randn(4, 1, 8, 8)
    net.set_level(1)
    net.set_level(2)
    with torch.no_grad():
        for slot in net.blocks:  # make banks differ so a wrong bank choice is visible
            for bank in slot:
                bank.dw_w.mul_(1 + torch.rand(()).item())
    net.set_channels(2, 0.75, torch.tensor([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 15]))
    for _ in range(4):
        arch = space.sample(rng).replace(**{"s2.width": 0.75})
        with torch.no_grad():
            assert float((net.activate(arch)(x) - net.extract(arch).eval()(x)).abs().max()) < 1e-5


def test_sort_channels_keeps_the_largest_network_and_momentum_aligned():
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, **{**SMALL, "expansions": [2, 3]})
    net, x = perturbed(space), torch.randn(4, 1, 8, 8)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    for param in net.parameters():  # momentum = 2 x weight: stays so only if both get the same permutation
        optimizer.state[param]["momentum_buffer"] = 2 * param.detach().clone()
    before = {n: p.detach().clone() for n, p in net.named_parameters()}
    with torch.no_grad():
        expected = net.activate(space.largest())(x)
        assert net.sort_channels(optimizer)
        assert float((net(x) - expected).abs().max()) < 1e-4
    assert any(not torch.equal(p, before[n]) for n, p in net.named_parameters())  # something was reordered
    assert all(torch.equal(optimizer.state[p]["momentum_buffer"], 2 * p) for p in net.parameters())
    assert not Supernet(create_space("chain", input_shape=(1, 8, 8), **SMALL)).sort_channels()  # expand=1 ties orders


def test_extracted_model_round_trips_through_export(tmp_path):
    from archfit.run.artifacts import load_model, save_model, verify_model

    space = create_space("chain", input_shape=(1, 24), num_classes=10, **SMALL)
    net, arch = perturbed(space), space.sample(np.random.default_rng(3))
    save_model(tmp_path, space, arch, net.extract(arch))
    _, loaded_arch, model = load_model(tmp_path)
    assert loaded_arch == arch
    assert verify_model(tmp_path, model) < 1e-5


@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 40)], ids=["2d", "1d"])
def test_closed_form_flops_used_for_stratification_match_the_counter(shape):
    from archfit.supernet.groundtruth import chain_flops, stratified_archs

    space = create_space("chain", input_shape=shape, num_classes=10, **SMALL)
    rng = np.random.default_rng(0)
    for arch in [space.smallest(), space.largest()] + [space.sample(rng) for _ in range(4)]:
        with torch.device("meta"):
            model = space.build(arch)
        assert chain_flops(space, arch) == count_flops(model, space.input_shape)
    archs = stratified_archs(space, 8, seed=0, pool=120)
    flops = [chain_flops(space, a) for a in archs]
    assert len({a.key for a in archs}) == 8 and space.smallest() in archs and space.largest() in archs
    assert flops == sorted(flops) and max(flops) / min(flops) > 3  # spread over the FLOPs range


@pytest.mark.parametrize("ndim", [1, 2])
def test_kernel_transforms_chain_crop_then_matrix_largest_to_smallest(ndim):
    """Oracle: k-wide kernel = centre crop of the next larger one, flattened, times that size's matrix."""
    torch.manual_seed(0)
    block = ElasticBlock(ndim, 4, 4, (3, 5, 7), (2,))
    with torch.no_grad():
        for matrix in block.transforms.values():
            matrix.add_(0.1 * torch.randn_like(matrix))
    hidden = 6
    expected = block.dw_w[:hidden]
    for k in (5, 3):
        start = (expected.shape[-1] - k) // 2
        crop = expected[..., start:start + k] if ndim == 1 else expected[..., start:start + k, start:start + k]
        expected = (crop.reshape(hidden, -1) @ block.transforms[str(k)].T).reshape(hidden, 1, *[k] * ndim)
        assert torch.allclose(block.dw_weight(hidden, k), expected, rtol=0, atol=1e-6)
    assert block.dw_weight(hidden, 7).data_ptr() == block.dw_w.data_ptr()  # largest kernel: no transform, no copy
