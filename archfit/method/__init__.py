"""Search methods by name: ``create_method("train")``; ``--estimator NAME`` picks one.

Built-in: ``train`` and ``tabular`` (black-box: a strategy asks, an estimator scores), ``supernet``
(one-shot: train a weight-sharing supernet, then a strategy over inherited weights), one method per
differentiable variant (``darts``, ``pcdarts``, ...), and the slim family (``width`` and one per pruning
criterion: the width choices of a given model, ``archfit slim --method NAME``). A new method registers
with ``@register_method("name")`` on a ``Method`` subclass; its ``family`` says which job runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from archfit.errors import ArchfitError
from archfit.method.base import Final, Method, MethodContext, Outcome
from archfit.registry import Registry

# Errors say "estimator": on the command line a method is chosen by --estimator (train | tabular | supernet).
_METHODS: Registry[type[Method]] = Registry("estimator", ("archfit.method.blackbox", "archfit.method.oneshot",
                                                                "archfit.method.differentiable", "archfit.method.slim"))
SLIM = "slim"  # the family ``archfit slim`` runs; ``archfit search`` runs every other family
M = TypeVar("M", bound=type[Method])


def register_method(name: str) -> Callable[[M], M]:
    """Class decorator: make a ``Method`` subclass available to ``create_method(name)``."""
    return _METHODS.register(name)


def list_methods(search: bool | None = None) -> list[str]:
    """Registered names: all (``None``), the search methods (``True``) or the slim methods (``False``)."""
    return [n for n in _METHODS.names() if search is None or (_METHODS.get(n).family != SLIM) == search]


def create_method(name: str, search: bool | None = None) -> Method:
    """The method ``name``; with ``search=True`` (``archfit search``) or ``False`` (``archfit slim``) a method of
    the other job is refused in one line naming the command that runs it."""
    cls = _METHODS.get(name)
    if search is not None and (cls.family != SLIM) != search:
        flag, other = ("--estimator", "archfit slim --method") if search else ("--method", "archfit search --estimator")
        raise ArchfitError(f"{flag} {name!r} is a {cls.family or 'search'} method (run it with {other} {name}); "
                           f"expected one of {list_methods(search)}")
    return _METHODS.create(name)


__all__ = ["Final", "Method", "MethodContext", "Outcome", "create_method", "list_methods", "register_method"]
