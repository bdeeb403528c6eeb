"""The end of an ``archfit search --estimator tabular`` run: nothing to train, the table is the truth.

Kept for callers of the old names: the ``tabular`` method (``archfit/method/blackbox.py``) finalizes by
lookup, and its results are built by the same code as every method's (``archfit/run/result.py``); the
report and summary moved to ``archfit/report/tabular_report.py``.
"""

from __future__ import annotations

from typing import Any

from archfit.config import SearchConfig
from archfit.cost.budget import Budget
from archfit.estimate.tabular import TabularEstimator
from archfit.method.base import MethodContext, Outcome
from archfit.method.blackbox import TabularMethod
from archfit.report.tabular_report import print_tabular_summary, write_tabular_report
from archfit.run.result import build_result
from archfit.space.base import Space
from archfit.trial import Trial


def finish_tabular(config: SearchConfig, space: Space, budget: Budget, trials: list[Trial],
                   estimator: TabularEstimator) -> dict[str, Any]:
    """``results.json`` content of a finished tabular search (``timing`` is the caller's)."""
    method = TabularMethod()
    method.estimator_ = estimator
    ctx = MethodContext(config, space, None, budget, None, None, False, config.seed)  # type: ignore[arg-type]
    outcome = Outcome.of_trials(trials, estimator, {"estimator_kind": "tabular", "optimum": estimator.optimum()},
                                budget.primary)
    return build_result(method, ctx, outcome, method.finalize(ctx, outcome), {}).to_dict()


__all__ = ["finish_tabular", "print_tabular_summary", "write_tabular_report"]
