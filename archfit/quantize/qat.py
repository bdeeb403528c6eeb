"""Quantization-aware training (QAT) whose ranges onnxruntime's int8 model then uses.

Fake quantization in PyTorch follows onnxruntime's static QOperator scheme (``ptq.py``) exactly, so that the
int8 file computes what QAT trained:
- BatchNorm is folded into the convolutions first (``torch.fx.experimental.optimization.fuse``, eval-mode
  statistics), as the float ONNX export does; QAT then trains the folded weights (no BN during QAT).
- weights: per output channel, symmetric int8 in [-127, 127], scale = max|w| / 127 (``compute_scale_zp`` with
  ``symmetric=True``), straight-through gradient (``torch.fake_quantize_per_channel_affine``);
- activations: per tensor, affine uint8, range [min(lo, 0), max(hi, 0)], scale = range / 255,
  zero point = round(-lo / scale), with (lo, hi) an exponential moving average of batch min/max, frozen for
  the last ``freeze_fraction`` of training. Quantization points are where onnxruntime puts them: the input,
  the output of every layer with its activation fused (Conv/Linear + ReLU/ReLU6 quantized once, after the
  activation), additions and pooling; shape-only ops (flatten, view) keep their input's quantization.
Export: the trained float weights (onnxruntime re-derives the same int8 weights from them) and, for each
activation point, the learned (lo, hi) passed to ``quantize_static`` as ``TensorQuantOverrides``. ONNX tensors
are matched to the PyTorch quantization points by value on a probe batch, not by name, so the exporter's
naming does not matter. Deviation: biases are int32 at scale x_scale * w_scale in onnxruntime but float in
the fake-quant forward pass (a difference of at most half an int32 step).

Not torchao's QAT: it is not installed here, and its int8 flow targets linear layers (pytorch/ao#1467).
"""

from __future__ import annotations

import copy
import operator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import fx, nn

from archfit.data import DataModule
from archfit.errors import ArchfitError

ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.Hardtanh)
ACT_FUNCTIONS = (F.relu, torch.relu, F.relu6, F.hardtanh, torch.clamp)
PASS_THROUGH_MODULES = (nn.Flatten, nn.Identity, nn.Dropout, nn.Unflatten)
PASS_THROUGH = (torch.flatten, torch.reshape, F.dropout, operator.getitem, getattr)
PASS_METHODS = ("flatten", "view", "reshape", "size", "contiguous", "squeeze", "unsqueeze")


@dataclass(frozen=True)
class QATConfig:
    epochs: int = 2  # QAT fine-tuning epochs after BatchNorm folding
    lr: float = 0.005  # peak SGD learning rate (the trainer's schedule); small: the model is already trained
    batch_size: int = 64
    momentum: float = 0.1  # weight of a new batch in the EMA of activation min/max
    freeze_fraction: float = 0.5  # activation ranges are frozen for this last fraction of the epochs
    distill: bool = True  # 0.5 CE + 0.5 KD from the float model (T=2), as the distill step
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1 or self.lr <= 0 or not 0 <= self.freeze_fraction <= 1:
            raise ArchfitError(f"QAT needs epochs >= 1, lr > 0 and a freeze fraction in [0, 1]; got {self}")


def uint8_qparams(lo: torch.Tensor, hi: torch.Tensor) -> tuple[float, int]:
    """onnxruntime's asymmetric uint8 (scale, zero point) of the range [lo, hi] (zero always representable)."""
    lo, hi = min(float(lo), 0.0), max(float(hi), 0.0)
    scale = np.float32((hi - lo) / 255.0) if hi > lo else np.float32(1.0)
    return float(scale), int(np.clip(np.round(-lo / np.float64(scale)), 0, 255))


class ActQuant(nn.Module):
    """Fake uint8 activation quantization with an EMA-observed range; identity until the range is known or
    when ``enabled`` is False (export)."""

    def __init__(self, momentum: float = 0.1) -> None:
        super().__init__()
        self.momentum, self.observe, self.enabled = momentum, True, True
        self.register_buffer("lo", torch.zeros(()))
        self.register_buffer("hi", torch.zeros(()))
        self.register_buffer("seen", torch.zeros((), dtype=torch.bool))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and self.observe:
            with torch.no_grad():
                lo, hi = x.min(), x.max()
                m = self.momentum if bool(self.seen) else 1.0
                self.lo.mul_(1 - m).add_(m * lo)
                self.hi.mul_(1 - m).add_(m * hi)
                self.seen.fill_(True)
        if not self.enabled or not bool(self.seen):
            return x
        scale, zero = uint8_qparams(self.lo, self.hi)
        return torch.fake_quantize_per_tensor_affine(x, scale, zero, 0, 255)


def fake_quant_weight(w: torch.Tensor) -> torch.Tensor:
    """Per-output-channel symmetric int8 fake quantization (onnxruntime's weight scheme), straight-through."""
    absmax = w.detach().abs().flatten(1).amax(1)
    scale = (absmax / 127.0).float().clamp_min(torch.finfo(torch.float32).tiny)
    zero = torch.zeros_like(scale, dtype=torch.int32)
    return torch.fake_quantize_per_channel_affine(w, scale, zero, 0, -127, 127)


class QConv1d(nn.Conv1d):
    """A Conv1d computing with fake-quantized weights (the class is swapped in place; no new state)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, fake_quant_weight(self.weight), self.bias)


class QConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, fake_quant_weight(self.weight), self.bias)


class QLinear(nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, fake_quant_weight(self.weight), self.bias)


QUANTIZED = {nn.Conv1d: QConv1d, nn.Conv2d: QConv2d, nn.Linear: QLinear}
FLOAT = {v: k for k, v in QUANTIZED.items()}


def _is_activation(gm: fx.GraphModule, node: fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(gm.get_submodule(node.target), ACTIVATIONS)
    return node.op == "call_function" and node.target in ACT_FUNCTIONS or (
        node.op == "call_method" and node.target in ("relu", "relu_", "clamp"))


def _keeps_quantization(gm: fx.GraphModule, node: fx.Node) -> bool:
    """Shape-only ops and layers whose only user is an activation (quantized once, after it)."""
    if node.op == "call_module":
        module = gm.get_submodule(node.target)
        if isinstance(module, PASS_THROUGH_MODULES):
            return True
        if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Linear)) and len(node.users) == 1:
            return _is_activation(gm, next(iter(node.users)))
        return False
    if node.op == "call_function":
        return node.target in PASS_THROUGH
    return node.op == "call_method" and node.target in PASS_METHODS


def prepare_qat(model: nn.Module, momentum: float = 0.1) -> fx.GraphModule:
    """BatchNorm folded, ``ActQuant`` after the input and every quantization point, fake-quantized weights in
    every Conv/Linear. Raises for a model torch.fx cannot trace."""
    from torch.fx.experimental.optimization import fuse

    try:
        gm = fuse(copy.deepcopy(model).eval())
    except Exception as exc:  # noqa: BLE001 -- fx raises many kinds for untraceable code
        reason = (str(exc).strip().splitlines() or [""])[0][:160]
        raise ArchfitError(f"QAT needs a torch.fx-traceable model; {type(model).__name__} is not "
                           f"({type(exc).__name__}: {reason}); use post-training quantization instead") from None
    count = 0
    for node in list(gm.graph.nodes):
        if node.op in ("output", "get_attr") or (node.op != "placeholder" and _keeps_quantization(gm, node)):
            continue
        name = f"act_quant_{count}"
        count += 1
        gm.add_submodule(name, ActQuant(momentum))
        with gm.graph.inserting_after(node):
            quant = gm.graph.call_module(name, (node,))
        node.replace_all_uses_with(quant, delete_user_cb=lambda user, q=quant: user is not q)
    gm.graph.lint()
    gm.recompile()
    for module in gm.modules():
        if type(module) in QUANTIZED:
            module.__class__ = QUANTIZED[type(module)]
    return gm


def act_quants(model: nn.Module) -> dict[str, ActQuant]:
    return {name: m for name, m in model.named_modules() if isinstance(m, ActQuant)}


def qat_train(model: nn.Module, data: DataModule, config: QATConfig = QATConfig()) -> fx.GraphModule:
    """``prepare_qat`` + fine-tuning; returns the QAT model in eval mode (fake quantization on)."""
    from archfit.train.distill import distill_from
    from archfit.train.trainer import TrainConfig, train

    qat = prepare_qat(model, config.momentum)
    torch.manual_seed(config.seed)
    frozen_from = max(1, config.epochs - round(config.freeze_fraction * config.epochs))
    done = [0]

    def on_epoch(_epoch: int, _loss: float) -> None:
        done[0] += 1
        for q in act_quants(qat).values():
            q.observe = done[0] < frozen_from

    loss = distill_from(copy.deepcopy(model).eval()) if config.distill else None
    train(qat, data.train, TrainConfig(epochs=config.epochs, lr=config.lr, batch_size=config.batch_size,
                                       seed=config.seed), loss_fn=loss, on_epoch=on_epoch)
    return qat.eval()


def export_model(qat: nn.Module) -> nn.Module:
    """The float model onnxruntime quantizes: raw trained weights, activation fake quantization off."""
    model = copy.deepcopy(qat).eval()
    for module in model.modules():
        if type(module) in FLOAT:
            module.__class__ = FLOAT[type(module)]
        if isinstance(module, ActQuant):
            module.enabled = False
    return model


def tensor_ranges(qat: nn.Module, probe: torch.Tensor):
    """A function float ONNX bytes -> {tensor name: (lo, hi)}: each ONNX tensor whose values on ``probe`` equal a
    quantization point's input gets that point's learned range (and so does the input of a Relu/Clip whose
    output does: onnxruntime copies the activation's range to the layer before it)."""
    export = export_model(qat)
    seen: dict[str, torch.Tensor] = {}
    hooks = [q.register_forward_hook(lambda m, i, o, n=name: seen.__setitem__(n, i[0].detach()))
             for name, q in act_quants(export).items()]
    with torch.no_grad():
        export(probe)
    for h in hooks:
        h.remove()
    learned = {name: (float(q.lo), float(q.hi)) for name, q in act_quants(qat).items() if bool(q.seen)}

    def ranges(float_bytes: bytes) -> dict[str, tuple[float, float]]:
        values = _all_tensors(float_bytes, probe.numpy())
        out: dict[str, tuple[float, float]] = {}
        for name, tensor in seen.items():
            ref = tensor.numpy()
            for onnx_name, value in values.items():
                if name in learned and value.shape == ref.shape and np.allclose(value, ref, rtol=1e-3, atol=1e-4):
                    out[onnx_name] = learned[name]
        return _through_activations(float_bytes, out)

    return ranges


def _all_tensors(float_bytes: bytes, x: np.ndarray) -> dict[str, np.ndarray]:
    """Every float tensor the ONNX graph computes on ``x`` (graph input included), by name."""
    import onnx

    from archfit.quantize.runtime import session

    model = onnx.load_from_string(float_bytes)
    names = [o for n in model.graph.node for o in n.output if o]
    known = {o.name for o in model.graph.output}
    model.graph.output.extend([onnx.ValueInfoProto(name=n) for n in names if n not in known])
    run = session(model.SerializeToString())
    outputs = [o.name for o in run.get_outputs()]
    values = dict(zip(outputs, run.run(outputs, {"input": x})))
    values["input"] = x
    return {k: v for k, v in values.items() if v.dtype == np.float32}


def _through_activations(float_bytes: bytes, ranges: dict[str, Any]) -> dict[str, Any]:
    import onnx

    graph = onnx.load_from_string(float_bytes).graph
    consumers: dict[str, int] = {}
    for node in graph.node:
        for name in node.input:
            consumers[name] = consumers.get(name, 0) + 1
    for node in graph.node:
        if node.op_type in ("Relu", "Clip") and node.output[0] in ranges and consumers.get(node.input[0]) == 1:
            ranges[node.input[0]] = ranges[node.output[0]]
    return ranges


def write_back(original: nn.Module, qat: nn.Module) -> nn.Module:
    """A copy of ``original`` (same structure, so it saves, resumes and slims like any step) holding the QAT
    weights: each Conv/Linear gets its folded, trained weight; a BatchNorm after a conv becomes an identity
    with the folded bias (mean 0, var 1 - eps, scale 1), so the float ONNX export is the QAT model's."""
    export = dict(export_model(qat).named_modules())
    model = copy.deepcopy(original).eval()
    modules = dict(model.named_modules())
    pairs = _conv_bn_pairs(model)
    with torch.no_grad():
        for name, dst in modules.items():
            if not isinstance(dst, (nn.Conv1d, nn.Conv2d, nn.Linear)):
                continue
            src = export[name]
            dst.weight.copy_(src.weight)
            bias = src.bias if src.bias is not None else torch.zeros(dst.weight.shape[0])
            bn = modules[pairs[name]] if name in pairs else None
            if bn is None:
                if dst.bias is not None:
                    dst.bias.copy_(bias)
                continue
            if not bn.affine or bn.running_var is None:
                raise ArchfitError(f"QAT cannot write back into {pairs[name]!r}: a BatchNorm without affine "
                                   "parameters or running statistics")
            if dst.bias is not None:
                dst.bias.zero_()
            bn.running_mean.zero_()
            bn.running_var.fill_(1 - bn.eps)
            bn.weight.fill_(1.0)
            bn.bias.copy_(bias)
    return model


def _conv_bn_pairs(model: nn.Module) -> dict[str, str]:
    """conv module name -> name of the BatchNorm applied to its output alone (the pairs fx ``fuse`` folds)."""
    graph = fx.symbolic_trace(model).graph
    modules = dict(model.named_modules())
    pairs = {}
    for node in graph.nodes:
        if node.op == "call_module" and isinstance(modules[node.target], nn.modules.batchnorm._BatchNorm):
            prev = node.args[0]
            if (isinstance(prev, fx.Node) and prev.op == "call_module" and len(prev.users) == 1
                    and isinstance(modules[prev.target], (nn.Conv1d, nn.Conv2d))):
                pairs[prev.target] = node.target
    return pairs
