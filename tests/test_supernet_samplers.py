"""Each sampling rule's contract, and the training loop's checkpoint/resume."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archfit.data.base import Split
from archfit.errors import ArchfitError
from archfit.space import create_space
from archfit.supernet.sampler import create_sampler
from archfit.supernet.supernet import Supernet
from archfit.supernet.training import load_checkpoint, train_supernet
from archfit.train import TrainConfig

torch.set_num_threads(1)
ARGS = {"stage_channels": [8, 16, 24], "max_depth": 2, "kernels": [3, 5], "expansions": [2, 3],
        "widths": [0.5, 0.75, 1.0], "stem_channels": 8, "head_channels": 16}


def started(name: str, total: int = 30, **params):
    torch.manual_seed(0)
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, **ARGS)
    sampler = create_sampler(name, **params)
    net = Supernet(space, sampler.max_level).train()
    sampler.start(net, total, 10)
    sampler.begin_epoch(0, 0)
    return space, net, sampler


def batch(n: int = 16):
    gen = torch.Generator().manual_seed(0)
    return torch.randn(n, 1, 8, 8, generator=gen), torch.randint(0, 10, (n,), generator=gen)


def test_uniform_is_one_path_and_reproducible_per_epoch():
    space, _, sampler = started("uniform")
    x, y = batch()
    first = [sampler.paths(i, x, y)[0].arch for i in range(8)]
    sampler.begin_epoch(0, 0)
    assert [sampler.paths(i, x, y)[0].arch for i in range(8)] == first
    assert len({a.key for a in first}) > 1


def test_sandwich_always_has_largest_teacher_and_smallest():
    space, _, sampler = started("sandwich", n=2)
    x, y = batch()
    for step in range(6):
        paths = sampler.paths(step, x, y)
        assert len(paths) == 4
        assert paths[0].arch == space.largest() and paths[0].teacher and paths[0].loss == "label"
        assert any(p.arch == space.smallest() for p in paths[1:])
        assert all(p.loss == "distill" and not p.teacher for p in paths[1:])
    with pytest.raises(ArchfitError, match="n=-1"):
        create_sampler("sandwich", n=-1)


def test_cafenet_channel_sets_lie_in_flops_sensitive_bins():
    space, net, sampler = started("cafenet", tries=3)
    radius, cost = sampler.radius, sampler.channel_flops
    assert min(radius) >= 1
    assert radius[int(np.argmax(cost))] == min(radius) and radius[int(np.argmin(cost))] == max(radius)
    assert max(radius) > min(radius)  # the stages' FLOPs per channel differ here, so the zones must too
    x, y = batch()
    moved = False
    for step in range(6):
        arch = sampler.paths(step, x, y)[0].arch
        for s in range(3):
            c = space.stage_width(s, float(arch[f"s{s}.width"]))
            lo, hi = sampler.zone(s, c)
            channels = getattr(net, f"channels_s{s}_c{c}")
            assert channels.numel() == c and channels.unique().numel() == c
            assert torch.equal(channels[:lo], torch.arange(lo)) and int(channels.max()) < hi
            moved |= not torch.equal(channels, torch.arange(c))
    assert moved  # min-min did pick a non-leading placement at least once


def test_close_lowers_the_sharing_extent_and_splits_banks_by_copy():
    space, net, sampler = started("close", total=30, switch_at=(0.3, 0.6))
    extents = [sampler.extent_at(step) for step in range(30)]
    assert extents[0] == 4.0 and extents[-1] == 1.0
    assert all(a >= b for a, b in zip(extents, extents[1:]))
    x, y = batch()
    sampler.paths(0, x, y)
    assert net.level == 0
    sampler.paths(10, x, y)
    assert net.level == 1
    assert all(torch.equal(slot[0].dw_w, slot[1].dw_w) for slot in net.blocks)  # the split starts as a copy
    with pytest.raises(ArchfitError, match="switch_at"):
        create_sampler("close", switch_at=(0.7, 0.2))


@pytest.mark.parametrize("rule", ["sandwich", "close"])
def test_training_resumes_exactly_from_a_checkpoint(tmp_path, rule):
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=10, **{**ARGS, "max_depth": 1, "stage_channels": [8, 12]})
    gen = torch.Generator().manual_seed(1)
    data = Split(torch.randn(32, 1, 8, 8, generator=gen), torch.randint(0, 10, (32,), generator=gen))
    config = TrainConfig(epochs=2, batch_size=16, lr=0.05)

    def fresh():
        sampler = create_sampler(rule)
        torch.manual_seed(0)
        return Supernet(space, sampler.max_level), sampler

    straight, sampler = fresh()
    train_supernet(straight, sampler, data, config)
    first, sampler = fresh()

    def crash(epoch: int, loss: float) -> None:
        raise RuntimeError("killed")  # after the first epoch's checkpoint is written

    with pytest.raises(RuntimeError, match="killed"):
        train_supernet(first, sampler, data, config, tmp_path / "c.safetensors", on_epoch=crash)
    resumed, sampler = fresh()
    stats = train_supernet(resumed, sampler, data, config, tmp_path / "c.safetensors")
    assert stats.resumed_from == 1 and stats.steps == 2
    for (name, a), b in zip(straight.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name
    assert load_checkpoint(tmp_path / "c.safetensors", fresh()[0]) == 2
    assert load_checkpoint(tmp_path / "c.safetensors", fresh()[0], sampler=rule) == 2
    other = "close" if rule != "close" else "uniform"
    with pytest.raises(ArchfitError, match=f"trained with sampler '{rule}', not '{other}'"):
        load_checkpoint(tmp_path / "c.safetensors", fresh()[0], sampler=other)


def test_unknown_sampler_is_one_line_error():
    with pytest.raises(ArchfitError, match="unknown supernet sampler 'spos2'"):
        create_sampler("spos2")
