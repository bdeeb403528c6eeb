"""Learned performance predictors and device latency models, by name.

``create_predictor("rf")`` → a ``Predictor``: ``fit(archs, y, encoder)`` then ``predict(archs) -> (mean, std)``.
``create_latency_model("lut")`` → a ``LatencyModel`` fitted on measured (arch, ms) pairs of one device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from archfit.registry import Registry

_PREDICTORS: Registry[type] = Registry(
    "predictor", tuple(f"archfit.predict.{m}" for m in ("mlp_ensemble", "trees", "gcn", "assessor", "fbnet", "ensemble")))
_LATENCY: Registry[type] = Registry("latency model", ("archfit.predict.latency_models",))
T = TypeVar("T", bound=type)


def register_predictor(name: str) -> Callable[[T], T]:
    """Class decorator: make a ``Predictor`` subclass available to ``create_predictor(name)``."""
    return _PREDICTORS.register(name)


def list_predictors() -> list[str]:
    return _PREDICTORS.names()


def create_predictor(name: str, **params: Any):
    """A predictor by registered name; ``params`` are its constructor's keyword arguments."""
    return _PREDICTORS.create(name, **params)


def register_latency_model(name: str) -> Callable[[T], T]:
    return _LATENCY.register(name)


def list_latency_models() -> list[str]:
    return _LATENCY.names()


def create_latency_model(name: str, **params: Any):
    return _LATENCY.create(name, **params)


__all__ = ["create_latency_model", "create_predictor", "list_latency_models", "list_predictors",
           "register_latency_model", "register_predictor"]
