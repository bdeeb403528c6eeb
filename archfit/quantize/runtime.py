"""Float ONNX export with a symbolic batch, and what onnxruntime measures on it: accuracy and latency.

The float file is exported with PyTorch's TorchScript-based exporter: in eval mode it folds BatchNorm into
the convolutions (the graph a deployment runs, and the float size an int8 file should be compared with),
and it exports the reference models in ~0.5 s instead of ~20 s for the torch.export-based one on this CPU.
Both give the same outputs and onnxruntime runs them equally fast (see ``archfit.onnx_io``).
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import torch
from torch import nn

from archfit.cost.latency import time_calls
from archfit.data.base import Split
from archfit.errors import ArchfitError
from archfit.onnx_io import require_onnxruntime

RUNTIME = "onnxruntime"


def float_onnx(model: nn.Module, input_shape: tuple[int, ...], opset: int = 17) -> bytes:
    """Serialized float ONNX of ``model`` in eval mode: input "input" and output "logits", batch symbolic,
    ``compact``-ed like the int8 file (no value_info, short tensor names) so that sizes compare fairly."""
    from archfit.quantize.compact import compact

    was_training = model.training
    model.eval()
    buffer = io.BytesIO()
    example = torch.zeros(1, *input_shape)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(model, (example,), buffer, dynamo=False, opset_version=opset,
                              input_names=["input"], output_names=["logits"],
                              dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    except Exception as exc:  # noqa: BLE001 -- an operator the exporter cannot handle: one line naming it
        reason = (str(exc).strip().splitlines() or [""])[0][:160]
        raise ArchfitError(f"cannot export {type(model).__name__} to ONNX ({type(exc).__name__}: {reason}); "
                           "the int8 flow needs an ONNX-exportable model") from None
    finally:
        model.train(was_training)
    return compact(buffer.getvalue())


def session(model_bytes: bytes, threads: int = 1, optimized_path: str | None = None):
    """An onnxruntime CPU session (all graph optimisations; ``threads`` intra-op threads). With
    ``optimized_path`` onnxruntime also writes the graph it actually runs there (after its fusions)."""
    ort = require_onnxruntime("int8 quantization")
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    if optimized_path:
        options.optimized_model_filepath = optimized_path
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def ort_logits(model_bytes: bytes, x: torch.Tensor, batch_size: int = 256, threads: int = 1) -> np.ndarray:
    """Logits onnxruntime computes for ``x``, in batches."""
    run = session(model_bytes, threads)
    parts = [run.run(None, {"input": x[i:i + batch_size].numpy()})[0] for i in range(0, len(x), batch_size)]
    return np.concatenate(parts)


def ort_accuracy(model_bytes: bytes, split: Split, threads: int = 1) -> float:
    """Top-1 accuracy (fraction in [0, 1]) of the ONNX model run by onnxruntime on ``split``."""
    return float((ort_logits(model_bytes, split.x, threads=threads).argmax(1) == split.y.numpy()).mean())


def ort_latency_ms(model_bytes: bytes, input_shape: tuple[int, ...], batch: int = 1, threads: int = 1,
                   warmup: int = 5, repeats: int = 30, min_seconds: float = 0.2) -> float:
    """Median wall-clock ms of one onnxruntime pass over ``batch`` samples (``cost.latency``'s timing loop)."""
    run = session(model_bytes, threads)
    feed = {"input": np.random.default_rng(0).standard_normal((batch, *input_shape)).astype(np.float32)}
    return float(np.median(time_calls(lambda: run.run(None, feed), warmup, repeats, min_seconds)))


def paired_latency_ms(models: dict[str, bytes], input_shape: tuple[int, ...], batch: int, threads: int = 1,
                      rounds: int = 3, min_seconds: float = 0.1) -> dict[str, float]:
    """Median over ``rounds`` of each model's median latency, the models timed alternately in every round, so
    a load change on a shared CPU hits all of them alike (compare them as ratios)."""
    times: dict[str, list[float]] = {name: [] for name in models}
    for _ in range(rounds):
        for name, data in models.items():
            times[name].append(ort_latency_ms(data, input_shape, batch, threads, min_seconds=min_seconds))
    return {name: float(np.median(values)) for name, values in times.items()}
