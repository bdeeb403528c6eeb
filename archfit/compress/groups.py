"""Width choices from a model's own channel coupling, found by Torch-Pruning's dependency graph.

Torch-Pruning groups every set of channels that must change together (residual adds, concatenations,
depthwise/grouped convolutions, flatten, attention). Each group whose channels we can slim exactly
becomes one width choice; every other group is *left out* with a one-line reason: it contains a kept
layer (the classifier, whose outputs are the classes, or an ``--ignore``d one), a normalisation over channels (LayerNorm/GroupNorm), a
raw parameter, or feeds multi-head attention whose ``num_heads``/``head_dim`` would go stale.

Within a group, channels are ranked once by Torch-Pruning's group L1 magnitude; a width ``w`` keeps the
``w`` highest-ranked channels (for grouped convolutions, the same positions in every conv group).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
import torch_pruning as tp
from torch import nn

from archfit.cost.probe import probe_forward
from archfit.errors import ArchfitError

DEFAULT_RATIOS = (0.25, 0.375, 0.5, 0.625, 0.75, 0.875, 1.0)
_MASKABLE = {tp.ops.OPTYPE.CONV, tp.ops.OPTYPE.DEPTHWISE_CONV, tp.ops.OPTYPE.LINEAR, tp.ops.OPTYPE.BN}
_NEVER = {tp.ops.OPTYPE.LN: "LayerNorm (statistics over channels change with width)",
          tp.ops.OPTYPE.GN: "GroupNorm (statistics over channels change with width)",
          tp.ops.OPTYPE.IN: "InstanceNorm", tp.ops.OPTYPE.PARAMETER: "a raw nn.Parameter",
          tp.ops.OPTYPE.MHA: "nn.MultiheadAttention (num_heads/head_dim would go stale)",
          tp.ops.OPTYPE.EMBED: "nn.Embedding", tp.ops.OPTYPE.LSTM: "nn.LSTM", tp.ops.OPTYPE.PRELU: "PReLU",
          tp.ops.OPTYPE.CUSTOMIZED: "a customised layer"}


@dataclass(frozen=True)
class Item:
    """One module's share of a group: its channel indices and the root channel each one follows."""

    module: str
    kind: str  # "out" (the module's outputs are the group's channels) | "in" (it consumes them)
    index: tuple[int, ...]
    root: tuple[int, ...]


@dataclass
class WidthGroup:
    """A searchable group: ``channels`` in full, ``choices`` of kept widths (ascending, last = full)."""

    name: str  # the root module's qualified name
    channels: int
    choices: tuple[int, ...]
    chunks: int  # > 1 when a grouped conv needs the same positions pruned in each of its groups
    order: list[int]  # root channels, most important first
    items: list[Item] = field(repr=False)

    @property
    def members(self) -> list[str]:
        return sorted({item.module for item in self.items if item.kind == "out"})

    def kept(self, width: int) -> list[int]:
        """Root channels kept at ``width`` (sorted)."""
        if width not in self.choices:
            raise ArchfitError(f"width {width} of group {self.name!r} is not one of {list(self.choices)}")
        per = self.channels // self.chunks
        positions = self.order[: width // self.chunks] if self.chunks > 1 else self.order[:width]
        if self.chunks == 1:
            return sorted(positions)
        return sorted(c * per + p for c in range(self.chunks) for p in positions)


@dataclass(frozen=True)
class LeftOut:
    """A group kept at full width, and why (``tied_to`` names the kept layer when that is the reason)."""

    name: str
    channels: int
    members: tuple[str, ...]
    reason: str
    tied_to: str | None = None


def build_graph(model: nn.Module, input_shape: tuple[int, ...]) -> tp.DependencyGraph:
    """Trace ``model`` once on a zero input of batch 2 (BatchNorm in eval mode during tracing)."""
    was_training = model.training
    model.eval()
    try:
        return tp.DependencyGraph().build_dependency(model, example_inputs=torch.zeros(2, *input_shape), verbose=False)
    except Exception as exc:  # tracing user models can fail in many ways; name it in one line
        raise ArchfitError(f"Torch-Pruning could not trace the model on input {tuple(input_shape)}: "
                           f"{type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''}") from None
    finally:
        model.train(was_training)


def classifier_layer(model: nn.Module, input_shape: tuple[int, ...]) -> str:
    """Name of the last Conv/Linear module called in a forward pass: the classifier, whose outputs are kept."""
    names = {module: name for name, module in model.named_modules()}
    called: list[str] = []
    probe_forward(model, input_shape, hooks=[(m, lambda mod, _i, _o: called.append(names[mod]))
                                             for m in model.modules()
                                             if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear))])
    if not called:
        raise ArchfitError("the model has no Conv or Linear layer called in forward: nothing to slim")
    return called[-1]


def find_groups(model: nn.Module, input_shape: tuple[int, ...], ratios: tuple[float, ...] = DEFAULT_RATIOS,
                round_to: int = 1, ignore: tuple[str, ...] = (), keep_classifier: bool = True
                ) -> tuple[list[WidthGroup], list[LeftOut], list[str]]:
    """Searchable groups with width choices, left-out groups with reasons, and the kept layers.

    Only what must be kept is kept: the classifier's outputs (and every ``ignore``d layer). The first
    layer's outputs are searchable like any other; its inputs are the data's and never change."""
    if not ratios or any(not 0 < r <= 1 for r in ratios):
        raise ArchfitError(f"width ratios {list(ratios)} must be in (0, 1]")
    if round_to < 1:
        raise ArchfitError(f"--round-to {round_to} must be >= 1")
    names = dict(model.named_modules())
    for name in ignore:
        if name not in names or not name:
            raise ArchfitError(f"--ignore {name!r} is not a module of the model; modules include "
                               f"{[n for n in names if n][:8]}")
    kept = list(ignore)
    if keep_classifier:
        last = classifier_layer(model, input_shape)
        kept = [last] + [n for n in kept if n != last]
    graph = build_graph(model, input_shape)
    module_name = {module: name for name, module in model.named_modules()}
    # a kept container (e.g. --ignore layer1) keeps every layer inside it
    kept_names = {n for n in names if any(n == k or n.startswith(k + ".") for k in kept)}
    importance = tp.importance.GroupMagnitudeImportance(p=1, group_reduction="mean", normalizer=None)
    groups, left_out = [], []
    for tp_group in graph.get_all_groups(root_module_types=(nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
        root = tp_group[0].dep.target.module
        name, channels = module_name[root], graph.get_out_channels(root)
        items, problem, tied = _items(graph, tp_group, module_name, kept_names)
        members = tuple(sorted({i.module for i in items if i.kind == "out"}))
        if tied is not None:
            others = ", ".join(m for m in members if m != tied)
            problem = (f"kept layer {tied!r} ties these {channels} channels to {others}" if others
                       else f"kept layer {tied!r}: its own {channels} output channels")
        problem = problem or _attention_problem(model, members)
        chunks = 1
        if problem is None:
            chunks, problem = _chunks(names, items, channels)
        if problem is None and channels < 2:
            problem = "a single channel"
        if problem is not None:
            left_out.append(LeftOut(name, channels, members, problem, tied))
            continue
        choices = _choices(channels, ratios, round_to, chunks)
        scores = importance(tp_group)
        order = _order(scores, channels, chunks)
        groups.append(WidthGroup(name, channels, choices, chunks, order, items))
    return groups, left_out, kept


def _items(graph, tp_group, module_name, kept_names) -> tuple[list[Item], str | None, str | None]:
    items, problem, tied = [], None, None
    for entry in tp_group:
        dep, target = entry.dep, entry.dep.target
        kind = "out" if graph.is_out_channel_pruning_fn(dep.handler) else "in"
        if target.type in _NEVER and problem is None:
            problem = f"contains {_NEVER[target.type]} ({module_name.get(target.module, target.name)})"
        if target.type not in _MASKABLE:
            continue
        name = module_name[target.module]
        if kind == "out" and name in kept_names and tied is None:
            tied = name
        root = entry.root_idxs if entry.root_idxs is not None else [None] * len(entry.idxs)
        if any(r is None for r in root):
            problem = problem or f"channels of {name} cannot be traced back to the group's root"
            continue
        items.append(Item(name, kind, tuple(int(i) for i in entry.idxs), tuple(int(r) for r in root)))
    return items, problem, tied


def _attention_problem(model: nn.Module, members: tuple[str, ...]) -> str | None:
    """Members inside a module with a ``num_heads`` attribute would leave it stale after slicing."""
    for name, module in model.named_modules():
        if name and hasattr(module, "num_heads") and any(m.startswith(name + ".") for m in members):
            return (f"feeds attention {name!r} (num_heads={getattr(module, 'num_heads')}): slicing would leave "
                    "num_heads/head_dim stale")
    return None


def _chunks(modules: dict[str, nn.Module], items: list[Item], channels: int) -> tuple[int, str | None]:
    """Grouped (non-depthwise) convs must lose the same positions in each of their groups."""
    chunks = 1
    for item in items:
        module = modules[item.module]
        groups = getattr(module, "groups", 1)
        if isinstance(module, nn.modules.conv._ConvNd) and 1 < groups < module.out_channels:
            if list(item.index) != list(item.root) or len(item.index) != channels:
                return 1, f"grouped conv {item.module} sees this group's channels at an offset"
            chunks = math.lcm(chunks, groups)
    if channels % chunks:
        return 1, f"{channels} channels do not split into {chunks} conv groups"
    return chunks, None


def _choices(channels: int, ratios: tuple[float, ...], round_to: int, chunks: int) -> tuple[int, ...]:
    step = math.lcm(max(1, round_to if channels >= 2 * round_to else 1), chunks)
    values = {channels}
    for ratio in ratios:
        width = max(step, int(round(ratio * channels / step)) * step)
        values.add(min(channels, width))
    return tuple(sorted(values))


def _order(scores: torch.Tensor | None, channels: int, chunks: int) -> list[int]:
    if scores is None or len(scores) != channels:
        scores = torch.zeros(channels)
    scores = scores.detach().float().cpu()
    if chunks > 1:
        scores = scores.view(chunks, channels // chunks).sum(0)
    return [int(i) for i in torch.argsort(-scores, stable=True)]
