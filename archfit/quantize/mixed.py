"""Mixed-precision search: the bit-width of each Conv/Linear layer's weights is a choice of a ``Space`` over any
trained model, searched with the existing ask/tell strategies under a weight-size budget.

``build(arch)`` returns a copy of the model whose weights are quantized per output channel to the layer's
bit-width (symmetric, ``2**(b-1) - 1`` levels each side, weight-only post-training quantization, no
training); 32 keeps the layer float. Its size is the packed weight bytes ``sum(params_l * bits_l / 8)``
plus 4 bytes for every other parameter (biases, BatchNorm). Score: validation accuracy.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from archfit.cost.budget import Cost
from archfit.data import DataModule
from archfit.errors import ArchfitError
from archfit.space.base import Arch, Space
from archfit.train.trainer import accuracy
from archfit.trial import Trial, TrialState

BITS = (32, 8, 4, 2)


def fake_quantize(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel symmetric uniform quantization to ``bits`` bits (values stay float)."""
    if bits >= 32:
        return weight
    top = 2 ** (bits - 1) - 1
    scale = weight.abs().flatten(1).max(1).values.clamp_min(1e-12) / top
    scale = scale.view(-1, *([1] * (weight.dim() - 1)))
    return torch.clamp(torch.round(weight / scale), -top, top) * scale


class MixedPrecisionSpace(Space):
    """One choice per Conv/Linear layer of ``model``: its weight bit-width from ``bits``."""

    name = "mixed_precision"

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...], bits: tuple[int, ...] = BITS) -> None:
        self.model = copy.deepcopy(model).eval()
        self._shape = tuple(input_shape)
        self.bits = tuple(bits)
        self.layers = {n: m for n, m in self.model.named_modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))}
        if not self.layers:
            raise ArchfitError("mixed-precision search needs a model with Conv/Linear layers")
        if not all(isinstance(b, int) and 2 <= b <= 32 for b in self.bits):
            raise ArchfitError(f"bit-widths {self.bits} must be integers in 2..32")

    @property
    def choices(self) -> dict[str, tuple[int, ...]]:
        return {name: self.bits for name in self.layers}

    @property
    def input_shape(self) -> tuple[int, ...]:
        return self._shape

    def params(self) -> dict[str, Any]:
        return {"layers": list(self.layers), "bits": list(self.bits)}

    def build(self, arch: Arch) -> nn.Module:
        arch = self.validate(arch)
        model = copy.deepcopy(self.model)
        modules = dict(model.named_modules())
        with torch.no_grad():
            for name, bits in arch.items():
                modules[name].weight.copy_(fake_quantize(modules[name].weight, int(bits)))
        return model.eval()

    def smallest(self) -> Arch:
        return Arch({name: min(self.bits) for name in self.layers})

    def weight_bytes(self, arch: Arch) -> float:
        """Packed bytes: each layer's weights at its bit-width, every other parameter at 4 bytes."""
        quantized = {id(m.weight) for m in self.layers.values()}
        rest = sum(p.numel() for p in self.model.parameters() if id(p) not in quantized)
        return 4.0 * rest + sum(self.layers[n].weight.numel() * int(b) / 8 for n, b in arch.items())


@dataclass(frozen=True)
class MixedResult:
    arch: Arch
    valid_acc: float
    test_acc: float
    weight_bytes: float
    history: list[dict[str, Any]]


def search_mixed(model: nn.Module, data: DataModule, max_bytes: float, evaluations: int = 40,
                 strategy: str = "evolution", seed: int = 0, bits: tuple[int, ...] = BITS,
                 **strategy_params: Any) -> MixedResult:
    """Per-layer bit-widths maximising validation accuracy with ``weight_bytes <= max_bytes``."""
    from archfit.strategy import create_strategy
    from archfit.strategy.base import Problem

    space = MixedPrecisionSpace(model, data.input_shape, bits)
    if space.weight_bytes(space.smallest()) > max_bytes:
        raise ArchfitError(f"weight budget {max_bytes:.0f} B cannot be met: all layers at {min(space.bits)} bits "
                           f"still take {space.weight_bytes(space.smallest()):.0f} B")
    search = create_strategy(strategy, **strategy_params)
    search.start(Problem(space, "valid_acc", lambda a: space.weight_bytes(a) <= max_bytes,
                         lambda a: Cost(0, int(space.weight_bytes(a))), "params", seed))
    history, seen = [], {}
    for number in range(evaluations):
        arch = search.ask()
        if arch.key not in seen:
            seen[arch.key] = accuracy(space.build(arch), data.valid)
        search.tell(Trial(number, arch, TrialState.COMPLETE, metrics={"valid_acc": seen[arch.key]}))
        history.append({"arch": dict(arch), "valid_acc": seen[arch.key], "weight_bytes": space.weight_bytes(arch)})
    best = max(history, key=lambda h: h["valid_acc"])
    arch = Arch(best["arch"])
    return MixedResult(arch, best["valid_acc"], accuracy(space.build(arch), data.test), space.weight_bytes(arch), history)
