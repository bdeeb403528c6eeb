"""Strategies by name: ``create_strategy("evolution")``, ``create_strategy("optuna:tpe")``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from archfit.errors import ArchfitError

_REGISTRY: dict[str, type] = {}
T = TypeVar("T", bound=type)


def register_strategy(name: str) -> Callable[[T], T]:
    def decorate(cls: T) -> T:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _load_builtins() -> None:
    import importlib

    for module in ("random", "evolution", "local", "bananas"):
        try:
            importlib.import_module(f"archfit.strategy.{module}")
        except ModuleNotFoundError as exc:
            if exc.name != f"archfit.strategy.{module}":
                raise


def list_strategies() -> list[str]:
    from archfit.strategy.optuna_bridge import OPTUNA_SAMPLERS

    _load_builtins()
    return sorted(_REGISTRY) + [f"optuna:{s}" for s in OPTUNA_SAMPLERS]


def create_strategy(name: str, **params: Any):
    """A strategy by registered name, or ``optuna:<sampler>`` for the Optuna bridge."""
    if name.startswith("optuna:"):
        from archfit.strategy.optuna_bridge import OptunaStrategy

        return OptunaStrategy(name.split(":", 1)[1], **params)
    _load_builtins()
    if name not in _REGISTRY:
        raise ArchfitError(f"unknown strategy {name!r}; expected one of {list_strategies()}")
    return _REGISTRY[name](**params)


__all__ = ["create_strategy", "list_strategies", "register_strategy"]
