"""``Supernet(space)``: every architecture of a ``ChainSpace`` as a path through one set of weights.

``activate(arch)`` selects the path the next forward pass takes; ``extract(arch)`` returns exactly the
module ``space.build(arch)`` builds (same structure, FLOPs and state-dict keys, so ``archfit export``
can rebuild it from ``arch.json``) with the active weights copied in.

Two knobs serve the sampling rules: *channel sets* (which channels of a stage's stream a width uses —
leading ones by default, locally free ones for CafeNet) and the *sharing level* (how many weight banks
a block's choices share — CLOSE lowers the sharing extent by splitting banks during training).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
import torch.nn.functional as F
from torch import nn

from archfit.errors import ArchfitError
from archfit.space.base import Arch
from archfit.space.chain import ChainSpace, conv_bn, conv_layers
from archfit.supernet.elastic import Channels, ElasticBlock, ElasticBN, conv_fn, new_weight, take

SHARING_LEVELS = ("all", "kernel", "kernel+expand")  # level i: which choices get their own weight bank


class Supernet(nn.Module):
    """Weight-sharing supernet of a chain space; ``max_level`` > 0 allocates banks for CLOSE."""

    def __init__(self, space: ChainSpace, max_level: int = 0) -> None:
        super().__init__()
        if not isinstance(space, ChainSpace):
            raise ArchfitError(f"supernet: space {getattr(space, 'name', space)!r} is not supported; expected 'chain'")
        if not 0 <= max_level < len(SHARING_LEVELS):
            raise ArchfitError(f"supernet sharing level {max_level} must be in 0..{len(SHARING_LEVELS) - 1}")
        self.space, self.max_level = space, max_level
        self.register_buffer("sharing_level", torch.tensor(0))  # in the state dict, so a resume keeps it
        nd, depth = space.ndim, space.max_depth
        self.widths = [[space.stage_width(s, w) for w in space.widths] for s in range(len(space.stage_channels))]
        self.stem = conv_bn(nd, space.input_shape[0], space.stem_channels, 3)
        banks = self.bank_count(max_level)
        self.blocks = nn.ModuleList()
        cin = space.stem_channels
        for s, widths in enumerate(self.widths):
            for b in range(depth):
                self.blocks.append(nn.ModuleList(
                    [ElasticBlock(nd, cin, max(widths), space.kernels, space.expansions) for _ in range(banks)]))
                cin = max(widths)
        self.head_w = new_weight(space.head_channels, cin, 1, nd)
        self.head_bn = ElasticBN(space.head_channels)
        self.pool = conv_layers(nd)[2](1)
        self.classifier = nn.Linear(space.head_channels, space.num_classes)
        for s, widths in enumerate(self.widths):  # channel sets: leading channels until a sampler moves them
            for c in sorted(set(widths)):
                self.register_buffer(f"channels_s{s}_c{c}", torch.arange(c), persistent=True)
        self._arch: Arch = space.largest()
        self._sets: dict[tuple[int, int], Channels] = {}  # (stage, channels) -> prefix length or index set

    # -- choices -----------------------------------------------------------------------------------
    @property
    def level(self) -> int:
        return int(self.sharing_level)

    def sharing_extent(self, level: int | None = None) -> float:
        """Block configurations (kernel x expansion) that share one weight bank at ``level``."""
        level = self.level if level is None else level
        return len(self.space.kernels) * len(self.space.expansions) / self.bank_count(level)

    def bank_count(self, level: int) -> int:
        return (1, len(self.space.kernels), len(self.space.kernels) * len(self.space.expansions))[level]

    def bank(self, kernel: int, expand: int, level: int | None = None) -> int:
        level = self.level if level is None else level
        ki, ei = self.space.kernels.index(kernel), self.space.expansions.index(expand)
        return (0, ki, ki * len(self.space.expansions) + ei)[level]

    def set_level(self, level: int) -> None:
        """Lower the sharing extent: each new bank starts as a copy of the bank it splits from."""
        if not self.level <= level <= self.max_level:
            raise ArchfitError(f"sharing level {level} must be between the current {self.level} and {self.max_level}")
        pairs = {(self.bank(k, e, level), self.bank(k, e)) for k in self.space.kernels for e in self.space.expansions}
        with torch.no_grad():
            for slot in self.blocks:
                parents = {p: {n: t.clone() for n, t in slot[p].state_dict().items()} for _, p in pairs}
                for child, parent in pairs:
                    if child != parent:
                        slot[child].load_state_dict(parents[parent])
        self.sharing_level.fill_(level)

    def stage_channels(self, stage: int, width: float) -> Channels:
        """The active channels of a stage's stream: a prefix length, or the stored free channel set."""
        c = self.space.stage_width(stage, width)
        cached = self._sets.get((stage, c))
        if cached is None:
            index = getattr(self, f"channels_s{stage}_c{c}")
            cached = self._sets[(stage, c)] = c if bool((index == torch.arange(c)).all()) else index
        return cached

    def _load_from_state_dict(self, *args, **kwargs) -> None:  # channel sets may change: forget the cache
        self._sets.clear()
        super()._load_from_state_dict(*args, **kwargs)

    def set_channels(self, stage: int, width: float, index: torch.Tensor) -> None:
        c = self.space.stage_width(stage, width)
        index = torch.as_tensor(index, dtype=torch.long).sort().values
        if index.numel() != c or index.unique().numel() != c or index.min() < 0 or index.max() >= max(self.widths[stage]):
            raise ArchfitError(f"channel set {index.tolist()} for stage {stage} must hold {c} distinct channels "
                               f"below {max(self.widths[stage])}")
        getattr(self, f"channels_s{stage}_c{c}").copy_(index)
        self._sets.pop((stage, c), None)

    def activate(self, arch: Arch) -> Supernet:
        self._arch = self.space.validate(arch)
        return self

    @property
    def arch(self) -> Arch:
        return self._arch

    def _path(self, arch: Arch) -> Iterator[tuple[ElasticBlock, Channels, Channels, int, int, int]]:
        """(block weights, cin, cout, kernel, expand, stride) of every active block."""
        cin: Channels = self.space.stem_channels
        level = self.level  # read the buffer once per pass, not once per block
        for p in self.space.plan(arch):
            cout = self.stage_channels(p.stage, float(arch[f"s{p.stage}.width"]))
            slot = self.blocks[p.stage * self.space.max_depth + p.index]
            yield slot[self.bank(p.kernel, p.expand, level)], cin, cout, p.kernel, p.expand, p.stride
            cin = cout

    def last_channels(self, arch: Arch) -> Channels:
        last = len(self.widths) - 1
        return self.stage_channels(last, float(arch[f"s{last}.width"]))

    # -- forward and extraction --------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        arch = self._arch
        x = self.stem(x)
        for block, cin, cout, kernel, expand, stride in self._path(arch):
            x = block(x, cin, cout, kernel, expand, stride)
        last = self.last_channels(arch)
        x = F.relu6(self.head_bn(conv_fn(self.space.ndim)(x, take(self.head_w, 1, last))))
        return self.classifier(self.pool(x).flatten(1))

    def extract(self, arch: Arch | None = None) -> nn.Module:
        """A physically smaller network (``space.build(arch)``) with this supernet's active weights."""
        arch = self._arch if arch is None else self.space.validate(arch)
        with torch.device("meta"):  # no random init: every tensor is overwritten below
            model = self.space.build(arch)
        model = model.to_empty(device=self.head_w.device)
        layers = list(model)
        with torch.no_grad():
            layers[0].load_state_dict(self.stem.state_dict())
            for layer, (block, cin, cout, kernel, expand, _) in zip(layers[1:], self._path(arch)):
                block.export_to(layer, cin, cout, kernel, expand)
            head = layers[-4]
            head[0].weight.copy_(take(self.head_w, 1, self.last_channels(arch)))
            self.head_bn.export_to(head[1], self.space.head_channels)
            layers[-1].load_state_dict(self.classifier.state_dict())
        model.train(self.training)
        return model

    # -- importance sorting ------------------------------------------------------------------------
    @torch.no_grad()
    def sort_channels(self, optimizer: torch.optim.Optimizer | None = None) -> bool:
        """Reorder channels so the most important (largest L1 norm of outgoing weights) come first.

        Leading-channel sharing then hands small widths the most useful channels. The function of the
        largest network is unchanged. Only possible with one bank and leading channel sets, and when
        no block skips its expansion (expand == 1 ties hidden channels to stream channels); returns
        whether it sorted. ``optimizer`` state (momentum) is permuted along with the weights.
        """
        leading = all(bool((b == torch.arange(b.numel())).all()) for n, b in self.named_buffers() if n.startswith("channels_"))
        if self.level != 0 or not leading or 1 in self.space.expansions:
            return False
        state = optimizer.state if optimizer is not None else {}

        def permute(param: torch.Tensor, dim: int, order: torch.Tensor) -> None:
            size = param.shape[dim]
            full = torch.cat([order, torch.arange(order.numel(), size)]) if order.numel() < size else order
            param.copy_(param.index_select(dim, full))
            for value in state.get(param, {}).values():
                if isinstance(value, torch.Tensor) and value.shape == param.shape:
                    value.copy_(value.index_select(dim, full))

        def permute_bn(bn: ElasticBN, order: torch.Tensor) -> None:
            for tensor in (bn.weight, bn.bias, bn.running_mean, bn.running_var):
                permute(tensor, 0, order)

        for slot in self.blocks:  # hidden channels of every block
            block = slot[0]
            order = block.project_w.abs().sum(dim=[d for d in range(block.project_w.ndim) if d != 1]).argsort(descending=True)
            permute(block.expand_w, 0, order)
            permute_bn(block.expand_bn, order)
            permute(block.dw_w, 0, order)
            permute_bn(block.dw_bn, order)
            permute(block.project_w, 1, order)
        depth = self.space.max_depth
        for s in range(len(self.widths)):  # stream channels of every stage
            before = {self.space.stem_channels} if s == 0 else set(self.widths[s - 1])
            if self.space.strides[s] == 1 and before & set(self.widths[s]):
                continue  # an identity shortcut from the previous stream ties this stream's order to it
            stage = [self.blocks[s * depth + b][0] for b in range(depth)]
            score = sum(b.project_w.abs().sum(dim=[d for d in range(b.project_w.ndim) if d != 0]) for b in stage)
            order = score.argsort(descending=True)
            for b, block in enumerate(stage):
                permute(block.project_w, 0, order)
                permute_bn(block.project_bn, order)
                if b > 0:
                    permute(block.expand_w, 1, order)
            consumer = self.blocks[(s + 1) * depth][0].expand_w if s + 1 < len(self.widths) else self.head_w
            permute(consumer, 1, order)
        return True
