"""Exact FLOPs and parameter counts of a width configuration, without building the slimmed model.

Not a cost model of its own: ``ModelWidthSpace.exact_cost`` uses it, and ``archfit.cost.CostModel``
asks the space for it instead of building each candidate (a deep copy and a Torch-Pruning pass).

Slimming a group changes only Conv/Linear/BatchNorm layers (groups with anything else are left out),
and each such layer's cost scales as (kept inputs / inputs) x (kept outputs / outputs) — or kept /
total for a depthwise conv. So the cost of any configuration is the full model's FlopCounterMode count
minus what the sliced layers lose; tests check it against ``count_flops`` of the extracted model.
FLOPs are 2 x MACs at batch 1, like ``archfit.cost.count_flops``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torch import nn

from archfit.compress.groups import WidthGroup
from archfit.cost import count_flops, count_params
from archfit.cost.probe import probe_forward


@dataclass
class _Layer:
    kind: str  # "conv" | "depthwise" | "linear" | "bn"
    outputs: int
    inputs: int
    flops: float  # this layer's FLOPs in the full model (2 x MACs, batch 1)
    weight: int  # parameters scaling with inputs x outputs
    bias: int  # parameters scaling with outputs only


class ExactCounts:
    """``flops(widths)`` / ``params(widths)`` for ``{group name: kept channels}`` (missing groups: full)."""

    def __init__(self, model: nn.Module, groups: list[WidthGroup], input_shape: tuple[int, ...]) -> None:
        self.groups = groups
        self.full_flops = count_flops(model, input_shape)
        self.full_params = count_params(model)
        self.layers = _layers(model, input_shape)
        # (group, width) -> [(layer name, "out" | "in", channels dropped)]
        self._drops: dict[tuple[str, int], list[tuple[str, str, int]]] = {}
        for group in groups:
            for width in group.choices:
                kept = set(group.kept(width))
                self._drops[group.name, width] = [
                    (item.module, item.kind, sum(1 for r in item.root if r not in kept))
                    for item in group.items if item.module in self.layers]

    def _active(self, widths: Mapping[str, int]) -> tuple[dict[str, int], dict[str, int]]:
        lost_out: dict[str, int] = defaultdict(int)
        lost_in: dict[str, int] = defaultdict(int)
        for group in self.groups:
            for name, kind, dropped in self._drops[group.name, widths.get(group.name, group.channels)]:
                (lost_out if kind == "out" else lost_in)[name] += dropped
        return lost_out, lost_in

    def _fractions(self, widths: Mapping[str, int]):
        lost_out, lost_in = self._active(widths)
        for name in set(lost_out) | set(lost_in):
            layer = self.layers[name]
            f_out = (layer.outputs - lost_out.get(name, 0)) / layer.outputs
            f_in = 1.0 if layer.kind in ("depthwise", "bn") else (layer.inputs - lost_in.get(name, 0)) / layer.inputs
            yield layer, f_out, f_in

    def flops(self, widths: Mapping[str, int]) -> int:
        saved = sum(layer.flops * (1 - f_out * f_in) for layer, f_out, f_in in self._fractions(widths))
        return int(round(self.full_flops - saved))

    def params(self, widths: Mapping[str, int]) -> int:
        saved = sum(layer.weight * (1 - f_out * f_in) + layer.bias * (1 - f_out)
                    for layer, f_out, f_in in self._fractions(widths))
        return int(round(self.full_params - saved))

    def ratio(self, widths: Mapping[str, int]) -> float:
        """FLOPs of ``widths`` as a fraction of the full model's."""
        return self.flops(widths) / self.full_flops


def _layers(model: nn.Module, input_shape: tuple[int, ...]) -> dict[str, _Layer]:
    """Full-model FLOPs and parameter split of every Conv/Linear/BatchNorm layer, from one forward pass."""
    layers: dict[str, _Layer] = {}
    names = {module: name for name, module in model.named_modules()}

    def hook(module: nn.Module, _inputs, output: torch.Tensor) -> None:
        name = names[module]
        if isinstance(module, nn.modules.conv._ConvNd):
            depthwise = module.groups == module.in_channels == module.out_channels and module.groups > 1
            macs = output[0].numel() * (module.in_channels // module.groups) * int(torch.tensor(module.kernel_size).prod())
            bias = module.bias.numel() if module.bias is not None else 0
            layers[name] = _Layer("depthwise" if depthwise else "conv", module.out_channels, module.in_channels,
                                  2.0 * macs, module.weight.numel(), bias)
        elif isinstance(module, nn.Linear):
            macs = output[0].numel() * module.in_features
            bias = module.bias.numel() if module.bias is not None else 0
            layers[name] = _Layer("linear", module.out_features, module.in_features, 2.0 * macs,
                                  module.weight.numel(), bias)
        elif isinstance(module, nn.modules.batchnorm._BatchNorm):
            count = sum(p.numel() for p in module.parameters(recurse=False))
            layers[name] = _Layer("bn", module.num_features, module.num_features, 0.0, 0, count)

    kinds = (nn.modules.conv._ConvNd, nn.Linear, nn.modules.batchnorm._BatchNorm)
    probe_forward(model, input_shape, hooks=[(m, hook) for m in model.modules() if isinstance(m, kinds)])
    return layers
