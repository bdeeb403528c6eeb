"""The ``archfit slim`` job: a model + data + budget -> the same model, narrower, for each method asked.

``prepare`` loads data and model (training it first when no weights are given), measures it and finds
its channel groups; ``check_budget`` refuses a budget the kept layers make unreachable, saying which
layer ties which channels and how far the budget can go; ``run_method`` slims by width search or by a
pruning criterion, fine-tunes with the same distillation recipe for every method, and measures.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from archfit.compress.costs import WidthCost
from archfit.compress.distill import distill_loss
from archfit.compress.extract import extract
from archfit.compress.groups import DEFAULT_RATIOS, GroupPlan, discover
from archfit.compress.knockoff import KnockoffConfig, knockoff_scores
from archfit.compress.prune import CRITERIA, prune_to_budget
from archfit.compress.spec import build_model, fill_args, load_weights
from archfit.compress.width_search import EvolutionConfig, confirm_best, search_widths
from archfit.compress.width_supernet import ChannelGate, SupernetConfig, costs_fit, recalibrate_bn, train_supernet
from archfit.cost import Budget, Cost, check_runtime, count_flops, count_params, measure_latency
from archfit.data import DataModule, load_data
from archfit.errors import ArchfitError
from archfit.train.trainer import TrainConfig, accuracy, train
from archfit.units import format_quantity, parse_quantity

METHODS = ("width",) + CRITERIA


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
    plan: GroupPlan
    cost: WidthCost
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
    for method in config.methods:
        if method not in METHODS:
            raise ArchfitError(f"--method {method!r} is not one of {list(METHODS) + ['all']}")
    check_runtime(config.latency_runtime, "--latency-runtime")
    data = data or load_data(config.data, config.image_size, config.train_subset)
    args = fill_args(config.model, config.model_args, data.input_shape, data.num_classes)
    torch.manual_seed(config.seed)
    model = build_model(config.model, args)
    if config.weights:
        load_weights(model, Path(config.weights))
    else:
        log(f"no --weights: training {config.model} for {config.pretrain_epochs} epochs first")
        train(model, data.train, TrainConfig(epochs=config.pretrain_epochs, lr=config.lr,
                                             batch_size=config.batch_size, seed=config.seed))
    model.eval()
    plan = discover(model, data.input_shape, config.ratios, config.round_to, config.ignore)
    if not plan.groups:
        raise ArchfitError("no channel group of this model can be slimmed: " + "; ".join(
            f"{lo.name}: {lo.reason}" for lo in plan.left_out[:3]))
    before = measure(model, data, config.latency_threads, config.latency_runtime)
    return Context(config, data, model, args, before, plan, WidthCost(model, plan))


def check_budget(ctx: Context) -> Budget:
    """Absolute budget from the config; refuse it, with the reason, when even the smallest widths exceed it."""
    c = ctx.config
    budget = Budget(parse_limit(c.max_flops, ctx.before["flops"], "--max-flops"),
                    parse_limit(c.max_params, ctx.before["params"], "--max-params"),
                    parse_limit(c.max_latency_ms, ctx.before["latency_ms"], "--max-latency-ms"))
    if budget.max_flops is None and budget.max_params is None and budget.max_latency_ms is None:
        raise ArchfitError("no budget: give --max-flops, --max-params or --max-latency-ms (e.g. 50%)")
    smallest = ctx.plan.smallest()
    reach = Cost(ctx.cost.flops(smallest), ctx.cost.params(smallest))
    if budget.max_latency_ms is not None:
        reach = Cost(reach.flops, reach.params, _latency_ms(ctx, extract(ctx.model, ctx.plan, smallest)))
    reasons = budget.violations(reach)
    if reasons:
        raise ArchfitError(f"budget {budget.describe()} cannot be met: at the smallest widths the model still has "
                           f"{'; '.join(reasons)}. {reach_text(ctx, reach)}")
    ctx.budget = budget
    return budget


def reach_text(ctx: Context, reach: Cost | None = None) -> str:
    """How far the budget can go, and which kept layers tie which channels."""
    smallest = ctx.plan.smallest()
    reach = reach or Cost(ctx.cost.flops(smallest), ctx.cost.params(smallest))
    ties = [f"kept layer {lo.tied_to!r} ties {lo.channels} channels ({lo.reason.split(' to ', 1)[-1]})"
            for lo in ctx.plan.left_out if lo.tied_to and " ties " in lo.reason]
    text = (f"The budget can go down to {format_quantity(reach.flops)} FLOPs "
            f"({100 * reach.flops / ctx.before['flops']:.1f}% of the original), {format_quantity(reach.params)} params"
            + (f" and {reach.latency_ms:.3f} ms batch-1 latency" if reach.latency_ms is not None else "") + ".")
    return text + (" " + "; ".join(ties) + "." if ties else "")


def run_method(ctx: Context, method: str, log=print) -> dict[str, Any]:
    """Slim a copy of the model with ``method``, fine-tune it, measure it; returns the results entry."""
    c, budget, start = ctx.config, ctx.budget or check_budget(ctx), time.perf_counter()
    extra: dict[str, Any] = {}
    if method == "width":
        small, extra = _width(ctx, budget, log)
    else:
        if method == "knockoff" and ctx.knockoff is None:
            ctx.knockoff = knockoff_scores(ctx.model, ctx.plan, ctx.data.train, KnockoffConfig(seed=c.seed))
        fits = _model_fits(ctx, budget)
        small, ratio = prune_to_budget(ctx.model, ctx.plan, method, fits, ctx.data.train, ctx.knockoff,
                                       c.round_to if c.round_to > 1 else None, seed=c.seed)
        extra = {"pruning_ratio": round(ratio, 4)}
    pruned_acc = accuracy(small, ctx.data.test)
    finetune(ctx, small)
    after = measure(small, ctx.data, c.latency_threads, c.latency_runtime)
    if not budget.fits(Cost(after["flops"], after["params"], after["latency_ms"])):
        log(f"warning: {method}: measured cost exceeds the budget ({'; '.join(budget.violations(Cost(after['flops'], after['params'], after['latency_ms'])))})")
    log(f"{method}: test accuracy {100 * after['test_acc']:.2f}% (before fine-tuning {100 * pruned_acc:.2f}%), "
        f"{format_quantity(after['flops'])} FLOPs, {after['latency_ms']:.3f} ms")
    return {"method": method, "before": dict(ctx.before), "after": after, "model": small,
            "widths": group_widths(ctx.plan, small), "test_acc_before_finetune": pruned_acc,
            "seconds": time.perf_counter() - start, **extra}


def finetune(ctx: Context, small: nn.Module) -> nn.Module:
    """The same recipe for every method: ``finetune_epochs`` of SGD at lr / 2.5 with distillation from the
    original; leaves ``small`` in eval mode."""
    c = ctx.config
    torch.manual_seed(c.seed)
    train(small, ctx.data.train, TrainConfig(epochs=c.finetune_epochs, lr=c.lr / 2.5, batch_size=c.batch_size,
                                             seed=c.seed), loss_fn=distill_loss(ctx.model))
    return small.eval()


def width_fits(ctx: Context, budget: Budget) -> Callable[[dict[str, int]], bool]:
    """Whether widths fit ``budget``: predicted FLOPs/params, then (if budgeted) latency timed on this CPU."""
    fits = costs_fit(ctx.cost, budget.max_flops, budget.max_params)
    return _with_latency(ctx, budget, fits) if budget.max_latency_ms is not None else fits


def train_width_supernet(ctx: Context, fits: Callable[[dict[str, int]], bool]
                         ) -> tuple[nn.Module, ChannelGate, list[float]]:
    """A copy of the model trained as a width supernet (sandwich rule, one random path at the budget);
    returns it with its gate (hooks attached: ``gate.remove()`` when done) and the per-epoch losses."""
    c = ctx.config
    supernet = copy.deepcopy(ctx.model)
    gate = ChannelGate(supernet, ctx.plan)
    losses = train_supernet(supernet, gate, ctx.data.train, SupernetConfig(
        epochs=c.supernet_epochs, batch_size=c.batch_size, lr=c.lr / 2.5, seed=c.seed), fits)
    return supernet, gate, losses


def _width(ctx: Context, budget: Budget, log) -> tuple[nn.Module, dict[str, Any]]:
    c, plan = ctx.config, ctx.plan
    fits = width_fits(ctx, budget)
    supernet, gate, losses = train_width_supernet(ctx, fits)
    try:
        def score(widths: dict[str, int]) -> float:
            gate.set_widths(widths)
            recalibrate_bn(supernet, ctx.data.train.x, seed=c.seed)
            return accuracy(supernet, ctx.data.valid)

        result = search_widths(plan, score, fits, EvolutionConfig(evaluations=c.evaluations, seed=c.seed))
        if budget.max_latency_ms is not None:
            result.best, result.score = _confirm_latency(ctx, budget, result.history)
        gate.set_widths(result.best)
        recalibrate_bn(supernet, ctx.data.train.x, batches=32, seed=c.seed)
    finally:
        gate.remove()
    log(f"width: search scored {len(result.history)} configurations; best valid accuracy "
        f"{100 * result.score:.2f}% at {format_quantity(ctx.cost.flops(result.best))} FLOPs (predicted)")
    small = extract(supernet, plan, result.best)
    return small, {"chosen_widths": result.best, "predicted_flops": ctx.cost.flops(result.best),
                   "search_valid_acc": result.score, "supernet_losses": losses,
                   "search_history": [{"widths": w, "valid_acc": s, "flops": ctx.cost.flops(w)}
                                      for w, s in result.history]}


def _confirm_latency(ctx: Context, budget: Budget, history: list[tuple[dict[str, int], float]]
                     ) -> tuple[dict[str, int], float]:
    """The best searched widths whose latency, re-timed with 3x the search's repeats, is within the budget."""
    def confirm(widths: dict[str, int]) -> bool:
        return _latency_ms(ctx, extract(ctx.model, ctx.plan, widths), repeats=30) <= budget.max_latency_ms

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


def _with_latency(ctx: Context, budget: Budget, fits):
    cache: dict[tuple[int, ...], float] = {}

    def check(widths: dict[str, int]) -> bool:
        if not fits(widths):
            return False
        key = tuple(widths[g.name] for g in ctx.plan.groups)
        if key not in cache:
            # time the architecture only: extract from the hook-free original, not the masked supernet
            cache[key] = _latency_ms(ctx, extract(ctx.model, ctx.plan, widths), repeats=10)
        return cache[key] <= budget.max_latency_ms
    return check


def _model_fits(ctx: Context, budget: Budget):
    shape = ctx.data.input_shape

    def fits(model: nn.Module) -> bool:
        latency = _latency_ms(ctx, model, repeats=10) if budget.needs_latency else None
        return budget.fits(Cost(count_flops(model, shape), count_params(model), latency))
    return fits


def group_widths(plan: GroupPlan, model: nn.Module) -> dict[str, int]:
    """Out-channels of each searchable group's root layer in a (slimmed) model."""
    modules = dict(model.named_modules())
    return {g.name: int(getattr(modules[g.name], "out_channels", None) or modules[g.name].out_features)
            for g in plan.groups}


def config_dict(config: SlimConfig) -> dict[str, Any]:
    return asdict(config)
