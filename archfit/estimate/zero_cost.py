"""Zero-cost proxies: score an untrained network in one forward/backward pass, without data.

``synflow`` (Tanaka et al. 2020, "Pruning neural networks without any data by iteratively conserving
synaptic flow"; used as a NAS proxy by Abdelfattah et al., ICLR 2021): with every parameter replaced
by its absolute value, BatchNorm removed and float64 arithmetic, feed one all-ones input, take
R = sum of the outputs, and sum |theta * dR/dtheta| over the weights of every convolution and
linear layer. A unitless score (often 1e20 and more, hence float64); only its ranking matters.
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.estimate.base import Estimate, Estimator
from archfit.space.base import Arch, Space

_WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)


def _without_batchnorm(module: nn.Module) -> nn.Module:
    for name, child in module.named_children():
        if isinstance(child, _NORMS):
            setattr(module, name, nn.Identity())
        else:
            _without_batchnorm(child)
    return module


def synflow(model: nn.Module, input_shape: tuple[int, ...]) -> float:
    """The synflow score of ``model`` (left unchanged: the score is computed on a float64 copy)."""
    net = _without_batchnorm(copy.deepcopy(model)).double().eval()
    with torch.no_grad():
        for param in net.parameters():
            param.abs_()
    net.zero_grad(set_to_none=True)
    output = net(torch.ones(1, *input_shape, dtype=torch.float64))
    output.sum().backward()
    score = 0.0
    for layer in net.modules():
        if isinstance(layer, _WEIGHTED) and layer.weight.grad is not None:
            score += float((layer.weight.detach() * layer.weight.grad).abs().sum())
    return score


PROXIES = {"synflow": synflow}


class ZeroCostEstimator(Estimator):
    """``estimate(arch)`` → ``{proxy: score}`` on a freshly initialised network (seeded); no training."""

    def __init__(self, space: Space, proxy: str = "synflow", seed: int = 0) -> None:
        if proxy not in PROXIES:
            raise ArchfitError(f"unknown zero-cost proxy {proxy!r}; expected one of {sorted(PROXIES)}")
        self.space = space
        self.metric = proxy
        self.seed = seed

    def estimate(self, arch: Arch) -> Estimate:
        start = time.perf_counter()
        torch.manual_seed(self.seed)
        score = PROXIES[self.metric](self.space.build(arch), self.space.input_shape)
        return Estimate({self.metric: score}, {"proxy": self.metric, "data": "none (all-ones input)"},
                        time.perf_counter() - start)

    def describe(self) -> str:
        return f"zero-cost proxy {self.metric} at initialisation (no training, no data)"
