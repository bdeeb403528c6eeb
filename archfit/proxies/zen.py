"""``zen`` — Lin et al., ICCV 2021, "Zen-NAS: a zero-shot NAS for high-performance image recognition".

On a copy with every convolution and linear weight redrawn from N(0, 1) (biases 0, BatchNorm affine
reset) and BatchNorm using batch statistics: f = the features entering the global average pool (the
input of the last adaptive-average-pool module, else of the last linear layer). With Gaussian inputs x
and perturbations ε, α = 0.01:
score = log(E‖f(x) − f(x + αε)‖_F / α) + Σ over BatchNorm layers of log √(mean over channels of the
batch variance + eps). Higher = better (a more expressive net amplifies the perturbation more).
Needs: the input shape only (data-free; the batch's size is used, its values are not). A net whose
features do not depend on the input gets Δ = 0, floored at 1e-30 so its score is finite and lowest.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from archfit.proxies import register_proxy
from archfit.proxies.base import NORMS, WEIGHTED, Batch, Proxy, hooks

ALPHA = 0.01
_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d)


def _feature_module(model: nn.Module) -> nn.Module:
    pools = [m for m in model.modules() if isinstance(m, _POOLS)]
    if pools:
        return pools[-1]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    return linears[-1] if linears else model


@torch.no_grad()
def _gaussian_init(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, WEIGHTED):
            m.weight.normal_()
            if m.bias is not None:
                m.bias.zero_()
        elif isinstance(m, NORMS) and m.affine:
            m.weight.fill_(1.0)
            m.bias.zero_()


@register_proxy("zen")
class Zen(Proxy):
    needs = "shape"

    def score(self, model: nn.Module, batch: Batch) -> float:
        _gaussian_init(model)
        model.train()
        features: list[torch.Tensor] = []
        variances: list[float] = []
        norms = [m for m in model.modules() if isinstance(m, NORMS)]

        def feature(module, inputs):
            features.append(inputs[0])

        def variance(module, inputs):
            x = inputs[0]
            dims = [0] + list(range(2, x.dim()))
            variances.append(float(x.var(dim=dims, unbiased=False).mean()) + module.eps)

        x = torch.randn_like(batch.x)
        noise = torch.randn_like(batch.x)
        with torch.no_grad(), hooks([_feature_module(model)], pre=feature):
            with hooks(norms, pre=variance):
                model(x)
            model(x + ALPHA * noise)
        delta = float((features[0] - features[1]).reshape(len(x), -1).norm(dim=1).mean()) / ALPHA
        return math.log(max(delta, 1e-30)) + sum(0.5 * math.log(v) for v in variances)
