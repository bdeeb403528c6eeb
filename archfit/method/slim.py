"""Slim methods: the width choices of a given model, searched or pruned, then fine-tuned — the ``slim`` family.

Each slim method is a registered ``Method`` like the search methods: ``run`` picks widths (``width``: a
width supernet trained by the core's sandwich rule, then the core's boundary evolution scored by the
recalibrated supernet; ``l1``/``bn``/``taylor``/``fpgm``/``knockoff``: one Torch-Pruning criterion, the
least-pruned uniform ratio that fits), and ``finalize`` is the family's policy: fine-tune the slimmed model
for ``finetune_epochs`` with distillation from the original (the same recipe for every method), then measure
it. ``archfit slim --method NAME`` runs them through ``run_slim_method``; ``archfit search`` refuses them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from torch import nn

from archfit.compress.extract import extract
from archfit.compress.knockoff import KnockoffConfig, knockoff_scores
from archfit.compress.pipeline import (
    Context,
    _confirm_latency,
    _model_fits,
    check_budget,
    finetune,
    group_widths,
    measure,
    train_width_supernet,
    width_fits,
)
from archfit.compress.prune import CRITERIA, prune_to_budget
from archfit.compress.width_search import search_widths
from archfit.cost.budget import Cost
from archfit.method import SLIM, create_method, register_method
from archfit.method.base import Final, Method, MethodContext, Outcome
from archfit.space.base import Arch
from archfit.train.bn import calibration_batches, recalibrate_bn
from archfit.train.trainer import accuracy
from archfit.trial import Trial, TrialState
from archfit.units import format_quantity


class SlimMethod(Method):
    """A slim method. ``ctx.subject`` is the slim job's ``Context`` (the given model, trained and measured);
    ``run`` leaves the slimmed, not yet fine-tuned model in ``self.slimmed_`` for ``finalize``."""

    family = SLIM
    slimmed_: nn.Module

    def finalize(self, ctx: MethodContext, outcome: Outcome) -> Final:
        """Fine-tune with distillation from the original (every method alike), then measure the real model."""
        subject: Context = ctx.subject
        start, small = time.perf_counter(), self.slimmed_
        before_finetune = accuracy(small, subject.data.test)
        finetune(subject, small)
        c = subject.config
        after = measure(small, subject.data, c.latency_threads, c.latency_runtime)
        cost = Cost(after["flops"], after["params"], after["latency_ms"], latency_threads=c.latency_threads,
                    latency_runtime=c.latency_runtime)
        seconds = time.perf_counter() - start
        return Final({"test_acc": after["test_acc"], "test_acc_before_finetune": before_finetune}, cost, small,
                     {"epochs": c.finetune_epochs, "seconds": seconds, "mode": "fine-tune, KD from the original"},
                     {"after": after}, seconds=seconds)


@register_method("width")
class WidthSearch(SlimMethod):
    """Width search: a width supernet (sandwich rule on the budget boundary), then evolution scored by its
    BN-recalibrated validation accuracy; the best widths are extracted from the supernet's weights."""

    def run(self, ctx: MethodContext) -> Outcome:
        subject: Context = ctx.subject
        c, space, budget = subject.config, subject.space, ctx.budget
        fits = width_fits(subject, budget)
        supernet, losses = train_width_supernet(subject, fits)
        calibration = calibration_batches(subject.data.train.x, 8, 128, seed=c.seed)
        try:
            def score(widths: Arch) -> float:
                supernet.activate(widths)
                recalibrate_bn(supernet, calibration)
                return accuracy(supernet, subject.data.valid)

            result = search_widths(space, score, fits, subject.cost, c.evaluations, seed=c.seed)
            if budget.max_latency_ms is not None:
                result.best, result.score = _confirm_latency(subject, budget, result.history)
            supernet.activate(result.best)
            recalibrate_bn(supernet, calibration_batches(subject.data.train.x, 32, 128, seed=c.seed))
        finally:
            net = supernet.release()
        flops = subject.cost(result.best).flops
        ctx.log(f"width: search scored {len(result.history)} configurations; best valid accuracy "
                f"{100 * result.score:.2f}% at {format_quantity(flops)} FLOPs (predicted)")
        self.slimmed_ = extract(net, space, result.best)
        trials = [Trial(i, widths, TrialState.COMPLETE, subject.cost(widths), {"valid_acc": value})
                  for i, (widths, value) in enumerate(result.history)]
        best = next(t for t in trials if t.arch.key == result.best.key)
        extras = {"chosen_widths": dict(result.best), "predicted_flops": flops, "search_valid_acc": result.score,
                  "supernet_losses": losses,
                  "search_history": [{"widths": dict(t.arch), "valid_acc": t.metrics["valid_acc"],
                                      "flops": t.cost.flops} for t in trials]}
        return Outcome(best, trials, "valid_acc", "width supernet (BN-recalibrated) validation accuracy", extras,
                       "highest supernet validation accuracy" + (", latency confirmed by 30 repeats"
                                                                 if budget.max_latency_ms is not None else ""))


class PruneCriterion(SlimMethod):
    """One-shot structured pruning by a Torch-Pruning criterion at the least ratio that fits (``scope``: the
    same ratio per group, or one ratio over all groups ranked globally; ``compress/prune.py``)."""

    criterion = ""
    scope = "local"

    def run(self, ctx: MethodContext) -> Outcome:
        subject: Context = ctx.subject
        c = subject.config
        if self.criterion == "knockoff" and subject.knockoff is None:
            subject.knockoff = knockoff_scores(subject.model, subject.space, subject.data.train,
                                               KnockoffConfig(seed=c.seed))
        fits = _model_fits(subject, ctx.budget)
        small, ratio = prune_to_budget(subject.model, subject.space, self.criterion, fits, subject.data.train,
                                       subject.knockoff, c.round_to if c.round_to > 1 else None, seed=c.seed,
                                       scope=self.scope)
        self.slimmed_ = small
        widths = Arch(group_widths(subject.space, small))
        trial = Trial(0, widths, TrialState.COMPLETE, None, {"pruning_ratio": ratio})
        return Outcome(trial, [trial], "pruning_ratio", f"Torch-Pruning {self.criterion} criterion, {self.scope} pruning",
                       {"pruning_ratio": round(ratio, 4), "pruning_scope": self.scope},
                       f"the least {'uniform' if self.scope == 'local' else 'global'} pruning ratio that fits the budget")


for _criterion in CRITERIA:  # one registered method per criterion and scope, e.g. "l1" and "l1-global"
    register_method(_criterion)(type(f"Prune_{_criterion}", (PruneCriterion,), {
        "criterion": _criterion, "__doc__": f"Torch-Pruning's {_criterion!r} criterion, then the slim fine-tune."}))
    register_method(f"{_criterion}-global")(type(f"Prune_{_criterion}_global", (PruneCriterion,), {
        "criterion": _criterion, "scope": "global",
        "__doc__": f"Torch-Pruning's {_criterion!r} criterion ranked across groups, then the slim fine-tune."}))


def slim_context(subject: Context, out: Path | None = None, log=print) -> MethodContext:
    """The ``MethodContext`` of one slim method over the slim job's ``Context``."""
    budget = subject.budget
    return MethodContext(subject.config, subject.space, subject.data, budget, subject.cost, out or Path("."),
                         resume=False, seed=subject.config.seed, log=log, subject=subject)


def run_slim_method(subject: Context, name: str, log=print) -> dict[str, Any]:
    """``prepare → run → finalize`` of the slim method ``name`` on a copy of the subject's model; the entry of
    ``results.json["methods"]`` (the slimmed model under ``"model"``)."""
    start = time.perf_counter()
    if subject.budget is None:
        check_budget(subject)
    method = create_method(name, search=False)
    ctx = slim_context(subject, log=log)
    method.prepare(ctx)
    outcome = method.run(ctx)
    final = method.finalize(ctx, outcome)
    after = final.details["after"]
    if not ctx.budget.fits(final.cost):
        log(f"warning: {name}: measured cost exceeds the budget ({'; '.join(ctx.budget.violations(final.cost))})")
    log(f"{name}: test accuracy {100 * after['test_acc']:.2f}% (before fine-tuning "
        f"{100 * final.metrics['test_acc_before_finetune']:.2f}%), {format_quantity(after['flops'])} FLOPs, "
        f"{after['latency_ms']:.3f} ms")
    return {"method": name, "before": dict(subject.before), "after": after, "model": final.model,
            "widths": group_widths(subject.space, final.model),
            "test_acc_before_finetune": final.metrics["test_acc_before_finetune"],
            "seconds": time.perf_counter() - start, **outcome.extras}
