"""BN recalibration changes running statistics and nothing else."""

from __future__ import annotations

import torch

from archfit.space import create_space
from archfit.supernet.supernet import Supernet
from archfit.train.bn import calibration_batches, recalibrate_bn

torch.set_num_threads(1)


def test_recalibration_changes_only_running_stats():
    torch.manual_seed(0)
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, stage_channels=[8, 12], max_depth=1,
                         stem_channels=8, head_channels=16)
    model = space.build(space.largest()).eval()
    batches = calibration_batches(torch.randn(300, 1, 8, 8) * 3 + 1, batches=3, batch_size=64)
    assert [len(b) for b in batches] == [64, 64, 64]
    params = {n: p.detach().clone() for n, p in model.named_parameters()}
    buffers = {n: b.clone() for n, b in model.named_buffers()}
    momenta = [m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
    assert recalibrate_bn(model, batches) == len(momenta)
    assert not model.training
    assert all(torch.equal(p, params[n]) for n, p in model.named_parameters())
    changed = [n for n, b in model.named_buffers() if not torch.equal(b, buffers[n])]
    assert any(n.endswith("running_mean") for n in changed) and any(n.endswith("running_var") for n in changed)
    assert all(n.endswith(("running_mean", "running_var", "num_batches_tracked")) for n in changed)
    assert [m.momentum for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d)] == momenta
    stem_bn = model[0][1]  # cumulative average over the batches equals the statistics of their union
    with torch.no_grad():
        feats = torch.cat([model[0][0](b) for b in batches])
    assert torch.allclose(stem_bn.running_mean, feats.mean(dim=(0, 2, 3)), atol=1e-5)


def test_elastic_bn_recalibrates_only_active_channels():
    torch.manual_seed(0)
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, stage_channels=[8, 16], max_depth=1,
                         widths=[0.5, 1.0], stem_channels=8, head_channels=16)
    net = Supernet(space).activate(space.smallest())
    bn = net.blocks[1][0].project_bn  # stage 1: 8 of 16 channels active
    with torch.no_grad():
        bn.running_mean.fill_(7.0)
    net.train()
    with torch.no_grad():
        net(torch.randn(16, 1, 8, 8))
    assert torch.all(bn.running_mean[8:] == 7.0) and torch.all(bn.running_mean[:8] != 7.0)
