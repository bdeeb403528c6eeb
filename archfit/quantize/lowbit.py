"""Low-bit weight quantization as compression passes: ``pass(model, data, config) -> model``.

Every method is a weight *parametrization* of the Conv/Linear layers (``torch.nn.utils.parametrize``): the
layer keeps latent parameters and computes with a low-bit weight derived from them. A pass attaches the
method's parametrization to every quantized layer, fine-tunes with the same recipe for every method
(SGD, cosine LR, 0.5 x CE + 0.5 x KD from the float model), then *converts*: each weight becomes its
hard low-bit value (``leave_parametrized=True``) and BatchNorm statistics are re-estimated. The first layer
and the classifier stay float by default (as in the papers compared); ``LowBitConfig.skip`` names them.

The value set of ``bits`` bits is uniform, symmetric and zero-free, scaled per output channel by ``alpha``:
``alpha * {-1, +1}`` at 1 bit, ``alpha * {-1, -1/3, 1/3, 1}`` at 2 bits (``2**bits`` levels).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils import parametrize

from archfit.data import DataModule
from archfit.errors import ArchfitError
from archfit.registry import Registry
from archfit.train.distill import distill_from
from archfit.train.trainer import TrainConfig, train

METHODS: Registry = Registry("low-bit method", ("archfit.quantize.ste", "archfit.quantize.sdw",
                                                  "archfit.quantize.lbm"))
register_method = METHODS.register

# max level / mean|w| per channel: 1 bit: sign with the L1-optimal scale (XNOR-Net); 2 bits: the uniform
# 4-level quantizer that minimises MSE for Gaussian weights has its outer level at ~1.49 sigma = 1.87 mean|w|
ALPHA_GAIN = {1: 1.0, 2: 1.87, 3: 2.3, 4: 2.7}


def levels(bits: int) -> torch.Tensor:
    """The unit value set of ``bits`` bits, ascending: ``2**bits`` points evenly spaced in [-1, 1], zero-free."""
    if bits not in ALPHA_GAIN:
        raise ArchfitError(f"low-bit width {bits} is not one of {sorted(ALPHA_GAIN)}")
    n = 2 ** bits
    return torch.linspace(-1.0, 1.0, n)


def channel_alpha(weight: torch.Tensor, bits: int) -> torch.Tensor:
    """Per-output-channel scale (shape broadcastable to ``weight``): ``ALPHA_GAIN[bits] * mean|w|``."""
    dims = tuple(range(1, weight.dim()))
    return ALPHA_GAIN[bits] * weight.abs().mean(dim=dims, keepdim=True).clamp_min(1e-8)


def nearest_level(unit: torch.Tensor, bits: int) -> torch.Tensor:
    """Each element of ``unit`` (weights divided by alpha) rounded to the nearest level of ``levels(bits)``."""
    n = 2 ** bits
    index = torch.round((unit.clamp(-1, 1) + 1) * (n - 1) / 2)
    return index * 2 / (n - 1) - 1


@dataclass(frozen=True)
class LowBitConfig:
    bits: int = 2
    epochs: int = 5  # fine-tuning epochs with the method attached
    lr: float = 0.02
    batch_size: int = 64
    kd_alpha: float = 0.5  # weight of distillation from the float model (0 = labels only)
    skip: tuple[str, ...] | None = None  # layers kept float; None = the first and the last weighted layer
    seed: int = 0


class LowBitMethod(nn.Module):
    """A parametrization: ``forward(latent weight) -> weight used``; ``hard`` switches to the final values.
    ``penalty()`` is an extra training loss (0 for most methods); ``step(progress)`` anneals per step."""

    name = "base"

    def __init__(self, weight: torch.Tensor, bits: int) -> None:
        super().__init__()
        self.bits = bits
        self.hard = False

    def penalty(self) -> torch.Tensor:
        return torch.zeros(())

    def step(self, progress: float) -> None:
        """Called before each training step with ``progress`` in [0, 1]."""


def quantized_layers(model: nn.Module, skip: tuple[str, ...] | None) -> list[tuple[str, nn.Module]]:
    """The Conv/Linear layers to quantize: all but ``skip`` (default: the first and the last one)."""
    layers = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear))]
    if skip is None:
        skip = (layers[0][0], layers[-1][0]) if len(layers) > 1 else ()
    unknown = [s for s in skip if s not in dict(layers)]
    if unknown:
        raise ArchfitError(f"low-bit skip layer {unknown[0]!r} is not a Conv/Linear of the model")
    chosen = [(n, m) for n, m in layers if n not in skip]
    if not chosen:
        raise ArchfitError("no Conv/Linear layer left to quantize to low bits")
    return chosen


def attach(model: nn.Module, method: str, config: LowBitConfig) -> list[LowBitMethod]:
    """Attach ``method``'s parametrization to the model's quantized layers (in place)."""
    cls = METHODS.get(method)
    attached = []
    for _, module in quantized_layers(model, config.skip):
        p = cls(module.weight.detach(), config.bits)
        parametrize.register_parametrization(module, "weight", p, unsafe=True)
        attached.append(p)
    return attached


def convert(model: nn.Module, data: DataModule, batches: int = 20) -> nn.Module:
    """Hard low-bit weights baked into plain Conv/Linear layers, then BatchNorm statistics re-estimated."""
    for module in list(model.modules()):
        if parametrize.is_parametrized(module, "weight"):
            for p in module.parametrizations.weight:
                p.hard = True
            with torch.no_grad():
                parametrize.remove_parametrizations(module, "weight", leave_parametrized=True)
    recalibrate(model, data, batches)
    return model.eval()


@torch.no_grad()
def recalibrate(model: nn.Module, data: DataModule, batches: int = 20, batch_size: int = 128) -> None:
    """Re-estimate BatchNorm running statistics on training batches (cumulative average)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    generator = torch.Generator().manual_seed(0)
    order = torch.randperm(len(data.train), generator=generator)
    for i in range(min(batches, max(1, len(order) // batch_size))):
        model(data.train.x[order[i * batch_size:(i + 1) * batch_size]])
    model.eval()


def lowbit_pass(model: nn.Module, data: DataModule, method: str, config: LowBitConfig = LowBitConfig()) -> nn.Module:
    """A copy of the trained float ``model`` with ``config.bits``-bit weights learnt by ``method``."""
    teacher = copy.deepcopy(model).eval()
    student = copy.deepcopy(model)
    attached = attach(student, method, config)
    base = distill_from(teacher, config.kd_alpha)
    steps = max(1, config.epochs * max(1, len(data.train) // config.batch_size))
    count = [0]

    def loss(logits: torch.Tensor, y: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        count[0] += 1
        for p in attached:
            p.step(min(1.0, count[0] / steps))
        return base(logits, y, x) + sum((p.penalty() for p in attached), torch.zeros(()))

    # the method's own parameters (logits, mappings) are trained with the weights; ``step`` anneals them
    torch.manual_seed(config.seed)
    train(student, data.train, TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                                           weight_decay=0.0, seed=config.seed), loss_fn=lambda lo, y, x: loss(lo, y, x))
    return convert(student, data)


def distinct_levels(model: nn.Module, skip: tuple[str, ...] | None = None) -> dict[str, int]:
    """Per quantized layer: the largest number of distinct weight values in any output channel."""
    return {n: max(len(torch.unique(w)) for w in m.weight.detach()) for n, m in quantized_layers(model, skip)}
