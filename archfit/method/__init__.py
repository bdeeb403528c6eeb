"""Search methods by name: ``create_method("train")``; ``--estimator NAME`` picks one.

Built-in: ``train`` and ``tabular`` (black-box: a strategy asks, an estimator scores) and ``supernet``
(one-shot: train a weight-sharing supernet, then a strategy over inherited weights). A new family
(differentiable, slim) registers with ``@register_method("name")`` on a ``Method`` subclass.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from archfit.method.base import Final, Method, MethodContext, Outcome
from archfit.registry import Registry

# Errors say "estimator": on the command line a method is chosen by --estimator (train | tabular | supernet).
_METHODS: Registry[type[Method]] = Registry("estimator", ("archfit.method.blackbox", "archfit.method.oneshot",
                                                                "archfit.method.differentiable"))
M = TypeVar("M", bound=type[Method])


def register_method(name: str) -> Callable[[M], M]:
    """Class decorator: make a ``Method`` subclass available to ``create_method(name)``."""
    return _METHODS.register(name)


def list_methods() -> list[str]:
    return _METHODS.names()


def create_method(name: str) -> Method:
    return _METHODS.create(name)


__all__ = ["Final", "Method", "MethodContext", "Outcome", "create_method", "list_methods", "register_method"]
