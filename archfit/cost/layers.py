"""Per-layer cost: FLOPs (2 x MACs, batch 1) and parameters of every leaf module that has either."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from archfit.cost.flops import device_of
from archfit.cost.probe import probe_forward


@dataclass(frozen=True)
class LayerCost:
    name: str  # qualified module name, as in ``model.named_modules()``
    kind: str  # class name, with its shape, e.g. "Conv2d(16→32, k3, g1)"
    flops: int
    params: int

    def to_dict(self) -> dict:
        return asdict(self)


def layer_costs(model: nn.Module, input_shape: tuple[int, ...]) -> list[LayerCost]:
    """In execution-independent module order; FlopCounterMode attributes FLOPs to module names."""
    with FlopCounterMode(display=False) as counter:
        probe_forward(model, input_shape, device=device_of(model))
    root = type(model).__name__
    flops = {name.split(".", 1)[1] if "." in name else "": sum(ops.values())
             for name, ops in counter.get_flop_counts().items() if name.startswith(root)}
    result = []
    for name, module in model.named_modules():
        if list(module.children()):
            continue
        params = sum(p.numel() for p in module.parameters(recurse=False))
        count = int(flops.get(name, 0))
        if params or count:
            result.append(LayerCost(name, _describe(module), count, params))
    return result


def _describe(module: nn.Module) -> str:
    kind = type(module).__name__
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return f"{kind}({module.in_channels}→{module.out_channels}, k{module.kernel_size[0]}, g{module.groups})"
    if isinstance(module, nn.Linear):
        return f"{kind}({module.in_features}→{module.out_features})"
    if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm)):
        return f"{kind}({sum(p.numel() for p in module.parameters()) // 2})"
    return kind
