"""One-shot: train one weight-sharing supernet (checkpointed in the run folder), score every candidate
by inherited, BN-recalibrated weights, then train the chosen arch from scratch or fine-tune its weights."""

from __future__ import annotations

import time
from pathlib import Path

from archfit.method import register_method
from archfit.method.base import Final, Method, MethodContext, Outcome, measured_final
from archfit.method.blackbox import search_with
from archfit.supernet.search import final_model, supernet_estimator, within_budget
from archfit.supernet.training import CHECKPOINT


@register_method("supernet")
class SupernetMethod(Method):
    """``--sampler`` rule, ``--supernet-epochs``; ``--final train | finetune``; ``--supernet`` imports a checkpoint."""

    family = "one-shot"

    def check_settings(self, config) -> None:
        from archfit.supernet.sampler import create_sampler

        create_sampler(config.sampler)  # an unknown rule name fails before anything runs

    def run(self, ctx: MethodContext) -> Outcome:
        feasible = within_budget(ctx.space, ctx.budget, ctx.cost.lookups)
        self.estimator_, info = supernet_estimator(ctx.config, ctx.space, ctx.data, ctx.out, ctx.progress, feasible)
        return search_with(ctx, self.estimator_, {"supernet": info})

    def finalize(self, ctx: MethodContext, outcome: Outcome) -> Final:
        start = time.perf_counter()
        model = final_model(ctx.config, ctx.space, ctx.data, outcome.best.arch, self.estimator_)
        return measured_final(ctx, outcome, model, ctx.config.final, start)

    def keep_folder(self, out: Path) -> bool:
        return (out / CHECKPOINT).exists()  # a trained (or half-trained) supernet is worth resuming
