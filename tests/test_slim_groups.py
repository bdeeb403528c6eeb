"""Channel-group discovery on residual, concatenation, depthwise/grouped and attention toy models."""

import pytest
import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.models.resnet import ResNet1d
from archfit.models.toys import ConcatNet, GroupedNet, SEDenseNet
from archfit.models.vit import ViT
from archfit.space.model_width import width_space


def test_residual_groups_tie_the_add_and_report_the_kept_stem():
    free = width_space(ResNet1d(depth=8, width=8), (1, 16))
    stem = free.group("stem.0")  # only the classifier's outputs are kept by default: the stem is searchable
    assert {"stem.1", "layers.0.conv2", "layers.0.bn2"} <= set(stem.members)
    assert [lo.tied_to for lo in free.left_out] == ["fc"]
    plan = width_space(ResNet1d(depth=8, width=8), (1, 16), ignore=("stem.0",))
    by_name = {g.name: g for g in plan.groups}
    # block 1 changes the width: conv2, its BN and the projection shortcut share one group
    residual = next(g for g in plan.groups if "layers.1.shortcut.0" in g.members)
    assert {"layers.1.conv2", "layers.1.bn2", "layers.1.shortcut.1"} <= set(residual.members)
    assert "layers.0.conv1" in by_name and by_name["layers.0.conv1"].members == ["layers.0.bn1", "layers.0.conv1"]
    tied = {lo.tied_to: lo for lo in plan.left_out if lo.tied_to}
    assert set(tied) == {"stem.0", "fc"}
    assert "layers.0.conv2" in tied["stem.0"].reason  # the stem's channels run through block 0's add


def test_concatenation_keeps_branches_separate_and_maps_classifier_inputs():
    plan = width_space(ConcatNet(width=8), (3, 8, 8))
    names = {g.name for g in plan.groups}
    assert {"stem.0", "branch_a.0", "branch_b.0", "dense1.0", "dense2.0"} == names
    branch_b = plan.group("branch_b.0")
    classifier_inputs = [i for i in branch_b.items if i.module == "classifier" and i.kind == "in"]
    assert classifier_inputs and list(classifier_inputs[0].index) == list(range(8, 16))  # offset by branch_a


def test_grouped_conv_forces_whole_conv_groups_and_depthwise_joins_its_input():
    plan = width_space(GroupedNet(width=16), (3, 8, 8))
    dw = next(g for g in plan.groups if "depthwise.0" in g.members)
    assert "grouped.0" in dw.members and dw.chunks == 4
    assert all(c % 4 == 0 for c in dw.choices)
    kept = dw.kept(dw.choices[0])
    per = dw.channels // 4
    positions = [{c - k * per for c in kept if k * per <= c < (k + 1) * per} for k in range(4)]
    assert all(p == positions[0] for p in positions)  # the same positions in every conv group


class _Attention(nn.Module):
    def __init__(self, dim: int = 16, num_heads: int = 2) -> None:
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x):
        b, n, c = x.shape
        q, k, v = self.qkv(x).reshape(b, n, 3, self.num_heads, self.head_dim).permute(2, 0, 3, 1, 4)
        out = torch.softmax(q @ k.transpose(-2, -1) * self.head_dim ** -0.5, -1) @ v
        return self.proj(out.transpose(1, 2).reshape(b, n, c))


class _TinyTransformer(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Linear(4, 16)
        self.attn = _Attention()
        self.mlp = nn.Sequential(nn.Linear(16, 32), nn.GELU(), nn.Linear(32, 16))
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        h = self.embed(x)
        h = h + self.attn(h)
        return self.head((h + self.mlp(h)).mean(1))


def test_attention_heads_are_left_out_with_a_reason_and_mlp_is_searchable():
    plan = width_space(_TinyTransformer(), (6, 4))
    assert [g.name for g in plan.groups] == ["mlp.0"]
    reasons = " | ".join(lo.reason for lo in plan.left_out)
    assert "num_heads" in reasons
    vit = width_space(ViT(input_shape=(1, 8, 8), patch=4, dim=16, depth=1, heads=2), (1, 8, 8))
    assert [g.name for g in vit.groups] == ["blocks.0.mlp.0"]
    embedding = next(lo for lo in vit.left_out if "patch_embed" in lo.members)  # no longer kept as first layer,
    assert embedding.tied_to is None and "LayerNorm" in embedding.reason  # but tied to norms and attention
    kept = width_space(ViT(input_shape=(1, 8, 8), patch=4, dim=16, depth=1, heads=2), (1, 8, 8), ignore=("patch_embed",))
    assert any(lo.tied_to == "patch_embed" for lo in kept.left_out)


def test_squeeze_excitation_ties_the_kept_stem_and_ignore_keeps_more():
    free = width_space(SEDenseNet(width=8, growth=8), (3, 8, 8))
    stem = next(g for g in free.groups if "stem.0" in g.members)
    assert {"stem.0", "stem.1", "se.fc2"} <= set(stem.members)  # the SE gate joins the stem, searchable
    plan = width_space(SEDenseNet(width=8, growth=8), (3, 8, 8), ignore=("stem.0",))
    stem = next(lo for lo in plan.left_out if lo.tied_to == "stem.0")
    assert "se.fc2" in stem.reason
    more = width_space(SEDenseNet(width=8, growth=8), (3, 8, 8), ignore=("dense1",))
    assert "dense1.0" not in {g.name for g in more.groups}
    assert any(lo.tied_to == "dense1.0" for lo in more.left_out)
    with pytest.raises(ArchfitError, match="not a module"):
        width_space(SEDenseNet(), (3, 8, 8), ignore=("nope",))


def test_width_choices_round_to_multiples():
    plan = width_space(ResNet1d(depth=8, width=16), (1, 16), ratios=(0.3, 0.5, 1.0), round_to=8)
    for group in plan.groups:
        assert all(c % 8 == 0 for c in group.choices) and group.choices[-1] == group.channels
