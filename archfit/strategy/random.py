"""Random search: uniform samples among the archs that fit the budget. The baseline every method must beat."""

from __future__ import annotations

from archfit.space.base import Arch
from archfit.strategy import register_strategy
from archfit.strategy.base import Strategy


@register_strategy("random")
class RandomSearch(Strategy):
    def ask(self) -> Arch:
        return self.sample_feasible()
