"""The ``archfit slim`` job: a model + data + budget -> the same model, narrower, for each method asked.

``prepare`` loads data and model (training it first when no weights are given), measures it and finds
its channel groups; ``check_budget`` refuses a budget the kept layers make unreachable, saying which
layer ties which channels and how far the budget can go; ``run_method`` slims by width search or by a
pruning criterion, fine-tunes with the same distillation recipe for every method, and measures.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archfit.compress.groups import DEFAULT_RATIOS
from archfit.compress.prune import CRITERIA
from archfit.compress.spec import build_model, fill_args, load_weights
from archfit.compress.width_search import confirm_best
from archfit.compress.width_supernet import BoundarySandwich, WidthSupernet
from archfit.cost import Budget, Cost, CostModel, check_runtime, count_flops, count_params, measure_latency
from archfit.data import DataModule, load_data
from archfit.errors import ArchfitError
from archfit.space.base import Arch
from archfit.space.model_width import ModelWidthSpace, width_space
from archfit.supernet.training import train_supernet
from archfit.train.distill import distill_from
from archfit.train.trainer import TrainConfig, accuracy, train
from archfit.units import format_quantity, parse_quantity

BUILTIN_ORDER = ("width",) + CRITERIA + tuple(f"{c}-global" for c in CRITERIA)  # ``--method all``: width first


def slim_methods() -> tuple[str, ...]:
    """The registered slim methods (``archfit.method`` registry, family ``slim``): built-ins first, in
    ``BUILTIN_ORDER``, then any plug-in, by name."""
    from archfit.method import list_methods

    names = list_methods(search=False)
    return tuple(n for n in BUILTIN_ORDER if n in names) + tuple(n for n in names if n not in BUILTIN_ORDER)


@dataclass(frozen=True)
class SlimConfig:
    model: str = "cnn1d"
    model_args: dict[str, Any] = field(default_factory=dict)
    weights: str | None = None
    data: str = "mnist1d"
    image_size: int | None = None  # resize images to this side, pixels (None: native for IDX/CIFAR, 32 for folders)
    train_subset: int | None = None  # seeded, class-balanced subset of the training split (samples)
    max_flops: str | None = None  # absolute ("20M") or relative to the original model ("50%")
    max_params: str | None = None
    max_latency_ms: str | None = None
    methods: tuple[str, ...] = ("width",)
    ratios: tuple[float, ...] = DEFAULT_RATIOS
    round_to: int = 1
    ignore: tuple[str, ...] = ()
    pretrain_epochs: int = 30  # only when no --weights: train the model first
    supernet_epochs: int = 10
    evaluations: int = 80  # width configurations scored by the search
    finetune_epochs: int = 10  # every method, after slimming, with KD from the original
    lr: float = 0.05  # pre-training peak LR; supernet and fine-tuning use lr / 2.5
    batch_size: int = 64
    latency_threads: int = 1
    latency_runtime: str = "torch"  # what runs the timed passes: "torch" (eager) | "onnxruntime" (onnx extra)
    seed: int = 0


@dataclass
class Context:
    config: SlimConfig
    data: DataModule
    model: nn.Module
    model_args: dict[str, Any]
    before: dict[str, float]
    space: ModelWidthSpace
    cost: CostModel  # FLOPs/params exact from the space; latency too once the budget asks for it
    budget: Budget | None = None
    knockoff: dict[str, torch.Tensor] | None = None


def parse_limit(text: str | None, full: float, flag: str) -> float | None:
    """``'20M'`` -> 2e7; ``'50%'`` -> 0.5 x ``full`` (the original model's value)."""
    if text is None:
        return None
    text = str(text).strip()
    if text.endswith("%"):
        percent = parse_quantity(text[:-1], flag)
        if percent > 100:
            raise ArchfitError(f"{flag} {text!r} must be at most 100% of the original model")
        return percent / 100 * full
    return parse_quantity(text, flag)


def measure(model: nn.Module, data: DataModule, threads: int = 1, runtime: str = "torch") -> dict[str, float]:
    """FLOPs (2 x MACs, batch 1), params, median batch-1 CPU latency (ms, timed in ``runtime``) and test accuracy
    (fraction)."""
    latency = measure_latency(model, data.input_shape, threads=threads, runtime=runtime)
    return {"flops": count_flops(model, data.input_shape), "params": count_params(model),
            "latency_ms": latency.median_ms, "test_acc": accuracy(model, data.test)}


def prepare(config: SlimConfig, data: DataModule | None = None, log=print) -> Context:
    """Data, model (trained first when no weights are given) and its width space, checked sound before any
    training; refuses a model whose channel coupling cannot be slimmed."""
    for method in config.methods:
        if method not in slim_methods():
            raise ArchfitError(f"--method {method!r} is not one of {list(slim_methods()) + ['all']}")
    check_runtime(config.latency_runtime, "--latency-runtime")
    data = data or load_data(config.data, config.image_size, config.train_subset)
    args = fill_args(config.model, config.model_args, data.input_shape, data.num_classes)
    torch.manual_seed(config.seed)
    model = build_model(config.model, args)
    if config.weights:
        load_weights(model, Path(config.weights))
    model.eval()
    space = _space(config, model, data)
    space.check()  # before any training: a model we cannot slim is refused in seconds, not after pre-training
    if not config.weights:
        log(f"no --weights: training {config.model} for {config.pretrain_epochs} epochs first")
        train(model, data.train, TrainConfig(epochs=config.pretrain_epochs, lr=config.lr,
                                             batch_size=config.batch_size, seed=config.seed))
        model.eval()
        space = _space(config, model, data)  # channels ranked by the trained weights
    before = measure(model, data, config.latency_threads, config.latency_runtime)
    return Context(config, data, model, args, before, space, CostModel(space))


def _space(config: SlimConfig, model: nn.Module, data: DataModule) -> ModelWidthSpace:
    space = width_space(model, data.input_shape, config.ratios, config.round_to, config.ignore)
    if not space.groups:
        raise ArchfitError("no channel group of this model can be slimmed: " + "; ".join(
            f"{lo.name}: {lo.reason}" for lo in space.left_out[:3]))
    return space


def check_budget(ctx: Context) -> Budget:
    """Absolute budget from the config; refuse it, with the reason, when even the smallest widths exceed it."""
    c = ctx.config
    budget = Budget(parse_limit(c.max_flops, ctx.before["flops"], "--max-flops"),
                    parse_limit(c.max_params, ctx.before["params"], "--max-params"),
                    parse_limit(c.max_latency_ms, ctx.before["latency_ms"], "--max-latency-ms"))
    if budget.max_flops is None and budget.max_params is None and budget.max_latency_ms is None:
        raise ArchfitError("no budget: give --max-flops, --max-params or --max-latency-ms (e.g. 50%)")
    if budget.needs_latency:
        ctx.cost = CostModel(ctx.space, with_latency=True, threads=c.latency_threads, runtime=c.latency_runtime)
    reach = ctx.cost(ctx.space.smallest())
    reasons = budget.violations(reach)
    if reasons:
        raise ArchfitError(f"budget {budget.describe()} cannot be met: at the smallest widths the model still has "
                           f"{'; '.join(reasons)}. {reach_text(ctx, reach)}")
    ctx.budget = budget
    return budget


def reach_text(ctx: Context, reach: Cost | None = None) -> str:
    """How far the budget can go, and which kept layers tie which channels."""
    reach = reach or ctx.cost(ctx.space.smallest())
    ties = [f"kept layer {lo.tied_to!r} ties {lo.channels} channels ({lo.reason.split(' to ', 1)[-1]})"
            for lo in ctx.space.left_out if lo.tied_to and " ties " in lo.reason]
    text = (f"The budget can go down to {format_quantity(reach.flops)} FLOPs "
            f"({100 * reach.flops / ctx.before['flops']:.1f}% of the original), {format_quantity(reach.params)} params"
            + (f" and {reach.latency_ms:.3f} ms batch-1 latency" if reach.latency_ms is not None else "") + ".")
    return text + (" " + "; ".join(ties) + "." if ties else "")


def run_method(ctx: Context, method: str, log=print) -> dict[str, Any]:
    """Slim a copy of the model with the registered slim method ``method`` (``archfit.method.slim``: its
    ``run`` searches or prunes, its ``finalize`` fine-tunes and measures); the results entry."""
    from archfit.method.slim import run_slim_method

    return run_slim_method(ctx, method, log)


def finetune(ctx: Context, small: nn.Module) -> nn.Module:
    """The same recipe for every method: ``finetune_epochs`` of SGD at lr / 2.5 with distillation from the
    original (0.5 x CE + 0.5 x KD at T=2); leaves ``small`` in eval mode."""
    c = ctx.config
    torch.manual_seed(c.seed)
    train(small, ctx.data.train, TrainConfig(epochs=c.finetune_epochs, lr=c.lr / 2.5, batch_size=c.batch_size,
                                             seed=c.seed), loss_fn=distill_from(ctx.model))
    return small.eval()


def width_fits(ctx: Context, budget: Budget) -> Callable[[Arch], bool]:
    """Whether widths fit ``budget``: exact FLOPs/params first, then (if budgeted) latency timed on this CPU,
    so that no candidate already over the FLOPs/params bounds is built and timed."""
    counts = Budget(budget.max_flops, budget.max_params)
    exact = CostModel(ctx.space)

    def fits(arch: Arch) -> bool:
        return counts.fits(exact(arch)) and (not budget.needs_latency or budget.fits(ctx.cost(arch)))
    return fits


def train_width_supernet(ctx: Context, fits: Callable[[Arch], bool]) -> tuple[WidthSupernet, list[float]]:
    """A copy of the model trained as a width supernet by the core's loop (sandwich rule, one random path
    on the budget boundary); returns it (hooks attached: ``release()`` when done) and the per-epoch mean
    loss per path."""
    c = ctx.config
    supernet = WidthSupernet(copy.deepcopy(ctx.model), ctx.space)
    losses: list[float] = []
    train_supernet(supernet, BoundarySandwich(fits), ctx.data.train,
                   TrainConfig(epochs=c.supernet_epochs, batch_size=c.batch_size, lr=c.lr / 2.5, seed=c.seed),
                   sort_channels=False, on_epoch=lambda _epoch, loss: losses.append(loss))
    return supernet, losses


def _confirm_latency(ctx: Context, budget: Budget, history: list[tuple[Arch, float]]) -> tuple[Arch, float]:
    """The best searched widths whose latency, timed again (a fresh 30-repeat measurement), is within the budget."""
    def confirm(widths: Arch) -> bool:
        return _latency_ms(ctx, ctx.space.build(widths), repeats=30) <= budget.max_latency_ms

    found = confirm_best(history, confirm)
    if found is None:
        raise ArchfitError(f"--max-latency-ms {budget.max_latency_ms:.3g}: none of the 10 best width configurations "
                           f"stays within it when timed again with 30 repeats; the budget is within this CPU's "
                           f"timing noise ({reach_text(ctx)})")
    return found


def _latency_ms(ctx: Context, model: nn.Module, repeats: int = 30) -> float:
    """Median batch-1 latency (ms) of ``model`` with the run's latency threads and runtime."""
    return measure_latency(model, ctx.data.input_shape, repeats=repeats, threads=ctx.config.latency_threads,
                           runtime=ctx.config.latency_runtime).median_ms


def _model_fits(ctx: Context, budget: Budget):
    shape = ctx.data.input_shape

    def fits(model: nn.Module) -> bool:
        latency = _latency_ms(ctx, model, repeats=10) if budget.needs_latency else None
        return budget.fits(Cost(count_flops(model, shape), count_params(model), latency))
    return fits


def group_widths(space: ModelWidthSpace, model: nn.Module) -> dict[str, int]:
    """Out-channels of each searchable group's root layer in a (slimmed) model."""
    modules = dict(model.named_modules())
    return {g.name: int(getattr(modules[g.name], "out_channels", None) or modules[g.name].out_features)
            for g in space.groups}


def config_dict(config: SlimConfig) -> dict[str, Any]:
    return asdict(config)
