"""The steps of ``archfit compress``, each ``(state, context) -> state``: slim, distill, mixed, quantize, export.

A step returns the model it leaves (float PyTorch) and, from ``quantize`` on, the int8 ONNX bytes; the
pipeline measures every step the same way (``measure``) and saves it atomically for ``--resume``.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from archfit.cost import count_flops, count_params
from archfit.data import DataModule
from archfit.errors import ArchfitError
from archfit.io import atomic_write_bytes, atomic_write_json, save_tensors
from archfit.quantize.inspect import summary
from archfit.quantize.ptq import QuantConfig, quantize_model
from archfit.quantize.runtime import RUNTIME, float_onnx, ort_accuracy, ort_latency_ms
from archfit.train.distill import distill_from
from archfit.train.trainer import TrainConfig, accuracy, train

STEPS = ("slim", "distill", "mixed", "quantize", "export")


@dataclass
class State:
    """What flows between steps: the float model, the int8 ONNX bytes once quantized, per-step extras."""

    model: nn.Module
    int8: bytes | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def measure(state: State, data: DataModule, threads: int = 1, latency_seconds: float = 0.1) -> dict[str, Any]:
    """Test accuracy (int8 in onnxruntime once quantized, else PyTorch), deployed size in bytes, FLOPs, params,
    and onnxruntime latency (median ms) at batch 1 and 64 of the deployed file."""
    shape = data.input_shape
    deployed = state.int8 if state.int8 is not None else float_onnx(state.model, shape)
    acc = ort_accuracy(state.int8, data.test, threads) if state.int8 is not None else accuracy(state.model, data.test)
    return {"test_acc": acc, "size_bytes": len(deployed), "flops": count_flops(state.model, shape),
            "params": count_params(state.model), "precision": "int8" if state.int8 is not None else "float32",
            "latency_ms_b1": ort_latency_ms(deployed, shape, 1, threads, min_seconds=latency_seconds),
            "latency_ms_b64": ort_latency_ms(deployed, shape, 64, threads, min_seconds=latency_seconds),
            "runtime": RUNTIME, "latency_threads": threads}


def slim_step(state: State, ctx) -> State:
    """Width search (or a pruning criterion) from ``archfit.compress.pipeline`` to the slim bounds, with its
    distillation fine-tuning; the model must be given as a spec (built-in name or module:Class)."""
    from archfit.compress.pipeline import SlimConfig, check_budget, prepare, run_method

    c = ctx.config
    if not isinstance(c.model, str):
        raise ArchfitError("the slim step needs the model as a spec (a built-in name or package.module:Class), "
                           "not a module object; drop 'slim' from the steps or pass a spec")
    bounds = ctx.slim_bounds
    if not bounds:  # e.g. a size budget int8 alone meets: narrowing would only cost accuracy
        ctx.log("slim: the budget needs no narrowing (met by the later steps); model kept as it is")
        return State(state.model, None, {"method": None, "slim_bounds": {}, "skipped": "budget met without it"})
    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "model.safetensors"
        save_tensors(weights, state.model.state_dict())
        config = SlimConfig(model=c.model, model_args=c.model_args, weights=str(weights), data=c.data_name,
                            max_flops=_num(bounds.get("flops")), max_params=_num(bounds.get("params")),
                            max_latency_ms=_num(bounds.get("latency_ms")), methods=(c.slim_method,),
                            supernet_epochs=c.supernet_epochs, evaluations=c.evaluations,
                            finetune_epochs=c.finetune_epochs, lr=c.lr, batch_size=c.batch_size,
                            latency_runtime="onnxruntime", seed=c.seed)
        slim_ctx = prepare(config, ctx.data, log=ctx.log)
        check_budget(slim_ctx)
        entry = run_method(slim_ctx, c.slim_method, ctx.log)
    return State(entry["model"].eval(), None, {"method": c.slim_method, "slim_bounds": bounds,
                                               "widths": entry.get("widths", {})})


def _num(value: float | None) -> str | None:
    return None if value is None else repr(float(value))


def distill_step(state: State, ctx) -> State:
    """``distill_epochs`` more epochs of 0.5 x CE + 0.5 x KD (T=2) from the original float model."""
    c = ctx.config
    torch.manual_seed(c.seed)
    train(state.model, ctx.data.train, TrainConfig(epochs=c.distill_epochs, lr=c.lr / 2.5, batch_size=c.batch_size,
                                                   seed=c.seed), loss_fn=distill_from(ctx.original))
    return State(state.model.eval(), None, {"epochs": c.distill_epochs})


def mixed_step(state: State, ctx) -> State:
    """Per-layer weight bit-widths (``mixed_bits``) searched with a registered strategy to maximise validation
    accuracy with the packed weight bytes (``MixedPrecisionSpace.weight_bytes``) within ``--max-size``. The model
    passed on has its weights rounded to the chosen grids; layers left at 32 bits stay float in the quantize
    step (``keep_float``), so with ``mixed_bits=(32, 8)`` the choice is which layers onnxruntime runs in int8."""
    from archfit.quantize.mixed import MixedPrecisionSpace, search_mixed

    c = ctx.config
    result = search_mixed(state.model, ctx.data, ctx.bounds["size_bytes"], c.mixed_evaluations, c.mixed_strategy,
                          c.seed, bits=tuple(c.mixed_bits))
    space = MixedPrecisionSpace(state.model, ctx.data.input_shape, tuple(c.mixed_bits))
    float_layers = sorted(name for name, bits in result.arch.items() if int(bits) >= 32)
    ctx.log(f"mixed: bits {dict(result.arch)}, packed weights {result.weight_bytes:.0f} B, "
            f"valid acc {result.valid_acc:.4f}")
    return State(space.build(result.arch), None, {"bits": dict(result.arch), "packed_bytes": result.weight_bytes,
                                                  "valid_acc": result.valid_acc, "float_layers": float_layers,
                                                  "strategy": c.mixed_strategy, "evaluations": c.mixed_evaluations})


def quantize_step(state: State, ctx) -> State:
    """onnxruntime static int8 quantization calibrated on the training split; per-layer verdict kept. With
    ``qat_epochs`` the model is first fine-tuned with fake quantization and the int8 file uses its learned
    activation ranges; the model passed on holds the QAT weights (BatchNorm folded into identities)."""
    quant: QuantConfig = ctx.config.quant
    mixed_float = tuple(state.extra.get("float_layers", ()))  # layers the mixed step left at 32 bits
    if mixed_float:
        quant = replace(quant, keep_float=tuple(dict.fromkeys(quant.keep_float + mixed_float)))
    model, ranges, qat_info = state.model, None, {}
    if ctx.config.qat_epochs:
        from archfit.quantize.qat import QATConfig, qat_train, tensor_ranges, write_back

        qat = qat_train(state.model, ctx.data, QATConfig(epochs=ctx.config.qat_epochs, lr=ctx.config.qat_lr,
                                                         batch_size=ctx.config.batch_size, seed=ctx.config.seed))
        model, ranges = write_back(state.model, qat), tensor_ranges(qat, ctx.data.train.x[:64])
        qat_info = {"epochs": ctx.config.qat_epochs, "lr": ctx.config.qat_lr,
                    "fake_quant_test_acc": accuracy(qat, ctx.data.test)}
    result = quantize_model(model, ctx.data.train, ctx.data.input_shape, quant, ranges=ranges)
    ctx.log("quantize: " + summary(result.layers) + (f"; QAT fake-quant test acc "
                                                     f"{qat_info['fake_quant_test_acc']:.4f}" if qat_info else ""))
    return State(model, result.model_bytes,
                 {"layers": [r.to_dict() for r in result.layers], "integer_layers": result.integer_layers,
                  "weighted_layers": len(result.layers), "summary": summary(result.layers),
                  "format": quant.format, "per_channel": quant.per_channel, "calibration": quant.calibration,
                  "calibration_samples": quant.calibration_samples, "qat": qat_info})


def export_step(state: State, ctx) -> State:
    """Write the deployable files to ``out`` and check that the int8 file on disk reproduces the evaluated
    accuracy in onnxruntime (and the float file PyTorch's)."""
    out, data = ctx.out, ctx.data
    save_tensors(out / "model.safetensors", state.model.state_dict())
    float_bytes = float_onnx(state.model, data.input_shape)
    atomic_write_bytes(out / "model.onnx", float_bytes)
    from archfit.compress.extract import out_channels

    atomic_write_json(out / "model.json", {"model": ctx.config.model if isinstance(ctx.config.model, str) else None,
                                           "model_args": ctx.config.model_args, "input_shape": list(data.input_shape),
                                           "out_channels": out_channels(state.model)})
    torch_acc = accuracy(state.model, data.test)
    float_acc = ort_accuracy((out / "model.onnx").read_bytes(), data.test)
    check: dict[str, Any] = {"float_torch_test_acc": torch_acc, "float_onnx_test_acc": float_acc,
                             "float_reproduced": bool(np.isclose(torch_acc, float_acc, atol=1.5 / len(data.test)))}
    if state.int8 is not None:
        atomic_write_bytes(out / "model.int8.onnx", state.int8)
        evaluated = ctx.last_metrics["test_acc"]
        on_disk = ort_accuracy((out / "model.int8.onnx").read_bytes(), data.test)
        check.update(int8_evaluated_test_acc=evaluated, int8_onnx_test_acc=on_disk,
                     int8_reproduced=bool(abs(on_disk - evaluated) < 1e-9))
        if not check["int8_reproduced"]:
            raise ArchfitError(f"exported model.int8.onnx gives test accuracy {on_disk:.4f} in onnxruntime, "
                               f"the quantize step evaluated {evaluated:.4f}")
    ctx.log("export: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in check.items()))
    return State(state.model, state.int8, {"check": check, "files": sorted(
        p.name for p in out.iterdir() if p.name.startswith("model."))})


RUNNERS = {"slim": slim_step, "distill": distill_step, "mixed": mixed_step, "quantize": quantize_step,
           "export": export_step}
