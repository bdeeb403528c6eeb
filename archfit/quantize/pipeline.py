"""``compress``: one pipeline of steps (slim, distill, quantize, export) from a model + data + budget to deployable
files, every step measured alike (accuracy, bytes, FLOPs, onnxruntime latency at batch 1 and 64) and saved
atomically under ``out/steps/`` so that a rerun with ``resume=True`` skips the finished ones.

Work starts only after the budget has been checked against the smallest model the steps can make (the
smallest slim widths, int8 at ~4x fewer bytes than float32 at best); a refused budget leaves ``out`` absent.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archfit.cost import count_flops, count_params
from archfit.data import DataModule, load_data
from archfit.errors import ArchfitError
from archfit.io import atomic_write_json, load_tensors, read_json, save_tensors
from archfit.quantize import budget as B
from archfit.quantize.ptq import QuantConfig, calibration_inputs, quantize_onnx
from archfit.quantize.runtime import float_onnx
from archfit.quantize.steps import RUNNERS, STEPS, State, measure
from archfit.train.trainer import TrainConfig, train

SIZE_MARGIN = 0.9  # slim to 90% of the params a size budget allows: the bytes-per-parameter model is rough


@dataclass(frozen=True)
class CompressConfig:
    model: Any = "resnet20"  # a spec (built-in name, module:Class, file.py:Class) or an nn.Module (no slim step)
    model_args: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None  # trained weights; without them a spec is trained for pretrain_epochs first
    data_name: str = "digits"
    steps: tuple[str, ...] = ("slim", "distill", "quantize", "export")
    budget: dict[str, Any] = field(default_factory=dict)  # metric -> bound: "50KB", "25%", 2e6 (see budget.py)
    slim_method: str = "width"  # archfit slim's method: width search or a pruning criterion (l1, ...)
    pretrain_epochs: int = 20
    supernet_epochs: int = 5
    evaluations: int = 30
    finetune_epochs: int = 5  # inside slim: fine-tuning with distillation
    distill_epochs: int = 5  # the distill step
    lr: float = 0.05
    batch_size: int = 64
    quant: QuantConfig = field(default_factory=QuantConfig)
    qat_epochs: int = 0  # > 0: quantization-aware training before int8 export (quantize step, see qat.py)
    qat_lr: float = 0.005
    mixed_bits: tuple[int, ...] = (32, 8)  # mixed step: per-layer weight bit-widths (32 = float, kept float in int8)
    mixed_strategy: str = "evolution"  # any registered strategy (archfit.strategy), e.g. random, evolution
    mixed_evaluations: int = 20
    latency_threads: int = 1
    seed: int = 0

    def key(self) -> str:
        """Hash of everything that changes results (for ``resume``: a changed config is refused)."""
        data = asdict(self)
        data["model"] = self.model if isinstance(self.model, str) else type(self.model).__name__
        return hashlib.sha1(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


@dataclass
class CompressResult:
    """The final float model, the int8 ONNX bytes (None without a quantize step), one metrics row per step
    (``steps[0]`` is the original), the absolute budget and whether the final model meets it."""

    model: nn.Module
    int8: bytes | None
    steps: list[dict[str, Any]]
    budget: dict[str, float]
    fits: bool
    violations: list[str]
    out: Path


@dataclass
class Context:
    config: CompressConfig
    data: DataModule
    out: Path
    original: nn.Module
    slim_bounds: dict[str, float]
    bounds: dict[str, float] = field(default_factory=dict)  # the absolute budget (mixed step: size_bytes)
    log: Any = print
    last_metrics: dict[str, Any] = field(default_factory=dict)


def validate(config: CompressConfig) -> None:
    unknown = [s for s in config.steps if s not in STEPS]
    if unknown or not config.steps:
        raise ArchfitError(f"--steps {unknown[0] if unknown else ''!r} is not one of {list(STEPS)}")
    if list(config.steps) != sorted(config.steps, key=STEPS.index) or len(set(config.steps)) != len(config.steps):
        raise ArchfitError(f"--steps {','.join(config.steps)} must be in the order {','.join(STEPS)}, each once")
    if "mixed" in config.steps and "size_bytes" not in {k for k, v in config.budget.items() if v is not None}:
        raise ArchfitError("the mixed step searches bit-widths under a size budget: give --max-size")
    if config.qat_epochs and "quantize" not in config.steps:
        raise ArchfitError(f"--qat-epochs {config.qat_epochs} needs the quantize step in --steps")
    if "slim" in config.steps and not isinstance(config.model, str):
        raise ArchfitError("the slim step needs the model as a spec (a built-in name or package.module:Class), "
                           "not a module object; drop 'slim' from the steps or pass a spec")
    if min(config.pretrain_epochs, config.distill_epochs, config.finetune_epochs, config.supernet_epochs,
           config.qat_epochs) < 0:
        raise ArchfitError("epochs must be >= 0")


def build(config: CompressConfig, data: DataModule) -> nn.Module:
    """The original model, untrained (a spec is built with the data's classes and input channels)."""
    if isinstance(config.model, nn.Module):
        return copy.deepcopy(config.model).eval()
    from archfit.compress.spec import build_model, fill_args

    torch.manual_seed(config.seed)
    return build_model(config.model, fill_args(config.model, config.model_args, data.input_shape, data.num_classes))


def reach(config: CompressConfig, model: nn.Module, data: DataModule) -> tuple[dict[str, float], dict[str, float], str]:
    """(the original's float costs, the smallest costs the steps can reach, how) from the model's structure alone:
    sizes come from exporting and quantizing it as it is (file sizes do not depend on the weights' values)."""
    shape = data.input_shape
    model = _distinct(model)
    float_size = len(float_onnx(model, shape))
    original = {"flops": count_flops(model, shape), "params": count_params(model), "size_bytes": float_size}
    best = dict(original)
    how = [(f"the float model is {B.show('size_bytes', float_size)}, {B.show('params', original['params'])}, "
            f"{B.show('flops', original['flops'])}")]
    if "quantize" in config.steps:
        int8 = len(quantize_onnx(float_onnx(model, shape), calibration_inputs(data.train, 16),
                                 QuantConfig(format=config.quant.format, per_channel=config.quant.per_channel,
                                             keep_float=config.quant.keep_float)).model_bytes)
        best["size_bytes"] = original["int8_bytes"] = int8
        how.append(f"int8 makes it {B.show('size_bytes', int8)} ({float_size / int8:.2f}x smaller; int8 is ~4x "
                   "smaller than float32 at best)")
    if "slim" in config.steps and isinstance(config.model, str):
        from archfit.space.model_width import width_space

        space = width_space(model, shape)
        flops, params = space.exact_cost(space.smallest())
        ratio = params / original["params"]
        best.update(flops=flops, params=params, size_bytes=best["size_bytes"] * ratio)
        how.append(f"slimming to the smallest widths can reach {B.show('flops', best['flops'])}, "
                   f"{B.show('params', best['params'])} and about {B.show('size_bytes', best['size_bytes'])}")
    return original, best, "; ".join(how) + "."


def _distinct(model: nn.Module) -> nn.Module:
    """A copy with seeded random BatchNorm statistics: the exporter stores identical tensors once, and an untrained
    model's folded biases are all zero, which would make its file smaller than the trained model's."""
    model = copy.deepcopy(model).eval()
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.running_mean is not None:
                m.running_mean.copy_(torch.randn(m.running_mean.shape, generator=g) * 0.1)
    return model


def slim_bounds(config: CompressConfig, bounds: dict[str, float], original: dict[str, float]) -> dict[str, float]:
    """FLOPs/params/latency bounds for the slim step; a size bound becomes a params bound (bytes ~ params)."""
    out = {k: v for k, v in bounds.items() if k in ("flops", "params", "latency_ms")}
    if "size_bytes" in bounds:
        # size ~ fixed overhead (graph, names, scales) + bytes per parameter (1 in int8, 4 in float32)
        per_param = 1.0 if "int8_bytes" in original else 4.0
        overhead = max(0.0, original.get("int8_bytes", original["size_bytes"]) - per_param * original["params"])
        by_size = max(1.0, (bounds["size_bytes"] - overhead) / per_param * SIZE_MARGIN)
        if by_size < original["params"]:
            out["params"] = min(out.get("params", by_size), by_size)
    return out


def compress(model: Any, data: DataModule | str, steps: tuple[str, ...] | str = STEPS, budget: dict | None = None,
             out: Path | str = "runs/compress", config: CompressConfig | None = None, resume: bool = False,
             log=print) -> CompressResult:
    """Run the steps on ``model`` (a spec or a trained nn.Module) under ``budget`` (metric -> bound); files in ``out``."""
    if isinstance(steps, str):
        steps = tuple(s.strip() for s in steps.split(",") if s.strip())
    data_name = data if isinstance(data, str) else data.name
    config = CompressConfig(**{**asdict(config or CompressConfig()), "model": model, "steps": tuple(steps),
                               "budget": dict(budget or {}), "data_name": data_name,
                               "quant": (config or CompressConfig()).quant})
    validate(config)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not resume:
        raise ArchfitError(f"--out {out} exists and is not empty; use --resume to continue it or another folder")
    data = load_data(data) if isinstance(data, str) else data
    start = time.perf_counter()
    template = build(config, data)
    original_cost, best, how = reach(config, template, data)
    bounds = B.parse_budget(config.budget, {k: v for k, v in original_cost.items() if k != "int8_bytes"})
    B.check_reach(bounds, best, how)
    log(f"budget: {B.describe(bounds)}. {how}")
    steps_dir = out / "steps"
    steps_dir.mkdir(parents=True, exist_ok=True)
    if resume and (out / "config.json").exists():
        saved = read_json(out / "config.json", "the compress config")
        if saved.get("key") != config.key():
            raise ArchfitError(f"--resume: {out} was made with other settings; use a new --out")
    atomic_write_json(out / "config.json", {"key": config.key(), **json.loads(json.dumps(asdict(config), default=str))})
    ctx = Context(config, data, out, template, slim_bounds(config, bounds, original_cost), bounds, log)
    state, rows = _original(ctx, template, steps_dir), []
    ctx.original = copy.deepcopy(state.model).eval()
    rows.append(_saved_row(steps_dir, 0, "original"))
    ctx.last_metrics = rows[0]["metrics"]
    for i, name in enumerate(config.steps, start=1):
        folder = steps_dir / f"{i:02d}-{name}"
        if resume and (folder / "state.json").exists():
            state = _load(folder, template, data, state)
            log(f"{name}: done before, loaded from {folder}")
        else:
            t0 = time.perf_counter()
            state = RUNNERS[name](state, ctx)
            metrics = ctx.last_metrics if name == "export" else measure(state, data, config.latency_threads)
            _save(folder, name, state, metrics, time.perf_counter() - t0)
        rows.append(_saved_row(steps_dir, i, name))
        ctx.last_metrics = rows[-1]["metrics"]
        m = ctx.last_metrics
        log(f"{name}: test acc {100 * m['test_acc']:.2f}%, {B.show('size_bytes', m['size_bytes'])}, "
            f"{B.show('flops', m['flops'])}, {m['latency_ms_b1']:.3f} / {m['latency_ms_b64']:.3f} ms (b1/b64, onnxruntime)")
    final = rows[-1]["metrics"]
    reasons = B.violations(bounds, {**final, "latency_ms": final["latency_ms_b1"]})
    if reasons:
        log("warning: the final model exceeds the budget: " + "; ".join(reasons))
    result = CompressResult(state.model, state.int8, rows, bounds, not reasons, reasons, out)
    _write_results(result, config, time.perf_counter() - start)
    return result


def _original(ctx: Context, template: nn.Module, steps_dir: Path) -> State:
    """Step 0: the original float model, loaded from weights or trained; saved like any step."""
    folder, c = steps_dir / "00-original", ctx.config
    if (folder / "state.json").exists():
        return _load(folder, template, ctx.data, State(template))
    model, t0 = copy.deepcopy(template), time.perf_counter()
    if c.weights:
        from archfit.compress.spec import load_weights

        load_weights(model, Path(c.weights))
    elif isinstance(c.model, str):
        ctx.log(f"no weights: training {c.model} for {c.pretrain_epochs} epochs first")
        train(model, ctx.data.train, TrainConfig(epochs=c.pretrain_epochs, lr=c.lr, batch_size=c.batch_size,
                                                 seed=c.seed))
    state = State(model.eval())
    _save(folder, "original", state, measure(state, ctx.data, c.latency_threads), time.perf_counter() - t0)
    return state


def _save(folder: Path, name: str, state: State, metrics: dict[str, Any], seconds: float) -> None:
    """Write a step's folder next to it, then rename it into place: a step is saved whole or not at all."""
    from archfit.compress.extract import out_channels

    tmp = folder.with_name(f".{folder.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    save_tensors(tmp / "model.safetensors", state.model.state_dict())
    if state.int8 is not None:
        (tmp / "model.int8.onnx").write_bytes(state.int8)
    atomic_write_json(tmp / "state.json", {"step": name, "metrics": metrics, "extra": state.extra,
                                           "out_channels": out_channels(state.model), "seconds": seconds})
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(tmp, folder)


def _load(folder: Path, template: nn.Module, data: DataModule, previous: State) -> State:
    """A saved step: the original rebuilt, shrunk to the saved widths (Torch-Pruning), weights loaded strictly."""
    from archfit.compress.extract import shrink_to

    saved = read_json(folder / "state.json", "a compress step state")
    model = shrink_to(copy.deepcopy(template), data.input_shape, saved["out_channels"])
    model.load_state_dict(load_tensors(folder / "model.safetensors"), strict=True)
    int8 = (folder / "model.int8.onnx").read_bytes() if (folder / "model.int8.onnx").exists() else previous.int8
    return State(model.eval(), int8, saved["extra"])


def _saved_row(steps_dir: Path, index: int, name: str) -> dict[str, Any]:
    saved = read_json(steps_dir / f"{index:02d}-{name}" / "state.json", "a compress step state")
    return {"step": name, "metrics": saved["metrics"], "extra": saved["extra"], "seconds": saved["seconds"]}


def _write_results(result: CompressResult, config: CompressConfig, seconds: float) -> None:
    from archfit.report.compress_report import write_compress_report

    results = {"config": json.loads(json.dumps(asdict(config), default=str)), "budget": result.budget,
               "budget_text": B.describe(result.budget), "fits": result.fits, "violations": result.violations,
               "steps": result.steps, "seconds": seconds, "units": UNITS}
    atomic_write_json(result.out / "results.json", results)
    write_compress_report(results, result.out)


UNITS = {"test_acc": "top-1 accuracy on the test split, fraction; int8 rows run the int8 ONNX file in onnxruntime",
         "size_bytes": "bytes of the deployed file: float ONNX (BatchNorm folded) or the int8 ONNX file",
         "flops": "2 x multiply-accumulates of one batch-1 forward pass (torch FlopCounterMode)",
         "params": "parameter count of the PyTorch model",
         "latency_ms_b1": "median wall-clock ms of one batch-1 pass in an onnxruntime CPU session (1 thread)",
         "latency_ms_b64": "median wall-clock ms of one batch-64 pass in an onnxruntime CPU session (1 thread)"}
