"""Few-shot supernets: which decisions may be split, gradient matching, the split's training and resume, and
that each arch is scored by the child of its choice."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archfit.data.base import DataModule, Split
from archfit.errors import ArchfitError
from archfit.space import create_space
from archfit.supernet.fewshot import gradient_agreement, splittable_decisions, train_fewshot
from archfit.supernet.rank_check import fewshot_scores
from archfit.supernet.sampler import create_sampler
from archfit.supernet.supernet import Supernet
from archfit.supernet.training import train_supernet
from archfit.train import TrainConfig

torch.set_num_threads(1)
ARGS = {"stage_channels": [8, 12], "max_depth": 2, "kernels": [3, 5], "expansions": [2, 3],
        "widths": [0.5, 1.0], "stem_channels": 8, "head_channels": 16}


def _space():
    return create_space("chain", input_shape=(1, 8, 8), num_classes=4, **ARGS)


def _split(n: int = 64, seed: int = 0) -> Split:
    g = torch.Generator().manual_seed(seed)
    y = torch.randint(0, 4, (n,), generator=g)
    x = torch.randn(n, 1, 8, 8, generator=g) + y.view(-1, 1, 1, 1).float()  # learnable: the label shifts the mean
    return Split(x, y)


def test_only_decisions_active_in_every_arch_are_splittable():
    space = _space()
    rng = np.random.default_rng(0)
    names = splittable_decisions(space, [space.sample(rng) for _ in range(32)])
    # depth and width of each stage, and the first block's choices, matter in every arch; the second block's
    # do not when its stage is one block deep
    assert set(names) == {f"s{s}.{d}" for s in range(2) for d in ("depth", "width", "b0.kernel", "b0.expand")}


def test_gradient_agreement_is_a_cosine_per_decision_and_leaves_weights_unchanged():
    space = _space()
    torch.manual_seed(0)
    net = Supernet(space)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    agreement = gradient_agreement(net, _split(), ["s0.width", "s1.depth"], probes=3, batch_size=16)
    assert set(agreement) == {"s0.width", "s1.depth"}
    assert all(-1.0 <= v <= 1.0 for v in agreement.values())
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(ArchfitError, match="probes 0 must be in 1..256"):
        gradient_agreement(net, _split(), ["s0.width"], probes=0)


def test_identical_choices_agree_fully():
    """Two choices that build the same path give identical gradients: cosine 1 (what makes a split useless)."""
    space = create_space("chain", input_shape=(1, 8, 8), num_classes=4, **{**ARGS, "widths": [1.0, 1.0001]})
    torch.manual_seed(0)
    agreement = gradient_agreement(Supernet(space), _split(), ["s0.width"], probes=2, batch_size=16)
    assert agreement["s0.width"] == pytest.approx(1.0, abs=1e-5)


def test_split_trains_children_on_their_choice_only_and_resumes(tmp_path):
    space = _space()
    config = TrainConfig(epochs=3, batch_size=16, lr=0.05, seed=0)
    seen: list[str] = []
    fewshot = train_fewshot(space, lambda: Supernet(space), lambda: create_sampler("uniform"), _split(), config,
                            split_epoch=1, folder=tmp_path, stem="t", decision="s1.width",
                            on_epoch=lambda label, epoch, loss: seen.append(f"{label}:{epoch}"))
    assert fewshot.decision == "s1.width" and set(fewshot.children) == {0.5, 1.0}
    assert seen == ["base:0", "s1.width=0.5:1", "s1.width=0.5:2", "s1.width=1.0:1", "s1.width=1.0:2"]
    a, b = (fewshot.children[v] for v in (0.5, 1.0))
    assert any(not torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))  # they trained apart
    # each child's checkpoint is at the last epoch; the base's at the split: a rerun trains nothing
    again: list[str] = []
    rerun = train_fewshot(space, lambda: Supernet(space), lambda: create_sampler("uniform"), _split(), config,
                          split_epoch=1, folder=tmp_path, stem="t", decision="s1.width",
                          on_epoch=lambda label, epoch, loss: again.append(label))
    assert again == []
    assert all(torch.equal(p, q) for p, q in zip(rerun.children[1.0].parameters(), b.parameters()))
    assert set(rerun.seconds) == {"base", "s1.width=0.5", "s1.width=1.0"}
    assert all(s > 0 for s in rerun.seconds.values())  # the seconds on record, not this call's zero


def test_child_continues_the_base_schedule(tmp_path):
    """A child trained without restriction equals the one-shot supernet trained the whole way (same schedule,
    same paths), so the split changes only which paths each child visits."""
    space = _space()
    config = TrainConfig(epochs=2, batch_size=16, lr=0.05, seed=0)
    torch.manual_seed(0)
    whole = Supernet(space)
    train_supernet(whole, create_sampler("uniform"), _split(), config, tmp_path / "whole.safetensors")
    torch.manual_seed(0)
    part = Supernet(space)
    stats = train_supernet(part, create_sampler("uniform"), _split(), config, tmp_path / "part.safetensors",
                           stop_epoch=1)
    assert stats.epochs == 1
    torch.manual_seed(0)
    resumed = Supernet(space)
    train_supernet(resumed, create_sampler("uniform"), _split(), config, tmp_path / "part.safetensors")
    assert all(torch.allclose(p, q) for p, q in zip(resumed.parameters(), whole.parameters()))


def test_gradient_matching_picks_the_least_agreeing_decision_and_scores_by_child(tmp_path):
    space = _space()
    data = DataModule("toy", _split(64, 0), _split(32, 1), _split(32, 2), 4)
    rng = np.random.default_rng(3)
    archs = [space.sample(rng) for _ in range(6)]
    config = TrainConfig(epochs=2, batch_size=16, lr=0.05, seed=0)
    scores, seconds, fewshot = fewshot_scores(space, data, archs, "uniform", config, 1, tmp_path)
    assert fewshot.decision == min(fewshot.agreement, key=fewshot.agreement.get)
    probe = np.random.default_rng(0)
    assert set(fewshot.agreement) == set(splittable_decisions(space, [space.sample(probe) for _ in range(64)]))
    assert len(scores) == len(archs) and all(0.0 <= s <= 1.0 for s in scores) and seconds > 0
    with pytest.raises(ArchfitError, match="split epoch 2 must be in 1..1"):
        train_fewshot(space, lambda: Supernet(space), lambda: create_sampler("uniform"), data.train, config, 2,
                      tmp_path, "bad")
    with pytest.raises(ArchfitError, match="decision 'nope' is not in the space"):
        train_fewshot(space, lambda: Supernet(space), lambda: create_sampler("uniform"), data.train, config, 1,
                      tmp_path, "bad", decision="nope")
