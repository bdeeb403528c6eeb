"""``synflow`` — Tanaka et al., NeurIPS 2020, "Pruning neural networks without any data by iteratively
conserving synaptic flow"; as a NAS proxy: Abdelfattah et al., ICLR 2021, "Zero-cost proxies for
lightweight NAS".

Every parameter replaced by its absolute value, BatchNorm removed, float64 arithmetic; one all-ones
input; R = sum of the outputs; score = Σ |θ · ∂R/∂θ| over the weights of every convolution and linear
layer. Needs: the input shape only (data-free). Higher = better. Unitless, often 1e20 and more (hence
float64); only its ranking matters.
"""

from __future__ import annotations

import torch
from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import NORMS, Batch, Proxy, weighted_layers


def _without_batchnorm(module: nn.Module) -> nn.Module:
    for name, child in module.named_children():
        if isinstance(child, NORMS):
            setattr(module, name, nn.Identity())
        else:
            _without_batchnorm(child)
    return module


def synflow(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """The synflow score of ``model`` (modified: BatchNorm removed, weights made positive, float64)."""
    net = _without_batchnorm(model).double().eval()
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    net.zero_grad(set_to_none=True)
    net(torch.ones(1, *input_shape, dtype=torch.float64)).sum().backward()
    total = 0.0
    for layer in weighted_layers(net):
        if layer.weight.grad is not None:
            total += float((layer.weight.detach() * layer.weight.grad).abs().sum())
    return total


@register_proxy("synflow")
class Synflow(Proxy):
    needs = "shape"

    def score(self, model: nn.Module, batch: Batch) -> float:
        return synflow(model, batch.input_shape)
