"""Strategies by name: ``create_strategy("evolution")``, ``create_strategy("optuna:tpe")``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from archfit.errors import ArchfitError
from archfit.registry import Registry

_STRATEGIES: Registry[type] = Registry(
    "strategy", tuple(f"archfit.strategy.{m}" for m in ("random", "evolution", "boundary", "local", "bananas")))
T = TypeVar("T", bound=type)


def register_strategy(name: str) -> Callable[[T], T]:
    """Class decorator: make a ``Strategy`` subclass available to ``create_strategy(name)``."""
    return _STRATEGIES.register(name)


def list_strategies() -> list[str]:
    from archfit.strategy.optuna_bridge import OPTUNA_SAMPLERS

    return _STRATEGIES.names() + [f"optuna:{s}" for s in OPTUNA_SAMPLERS]


def create_strategy(name: str, **params: Any):
    """A strategy by registered name, or ``optuna:<sampler>`` for the Optuna bridge."""
    if name.startswith("optuna:"):
        from archfit.strategy.optuna_bridge import OptunaStrategy

        return OptunaStrategy(name.split(":", 1)[1], **params)
    if name not in _STRATEGIES.names():
        raise ArchfitError(f"unknown strategy {name!r}; expected one of {list_strategies()}")
    return _STRATEGIES.create(name, **params)


__all__ = ["create_strategy", "list_strategies", "register_strategy"]
