"""Differentiable architecture search: mixed operations, one bilevel loop, methods as small hooks.

``differentiable_search(space, data, "pcdarts", DiffSettings(...))`` returns a ``DiffOutcome`` whose
``arch`` is an ordinary ``Arch`` of the space, so the usual finalize step (train from scratch, measure,
export, report) applies to it.
"""

from archfit.differentiable.api import DiffOutcome, differentiable_search
from archfit.differentiable.loop import DiffSettings
from archfit.differentiable.method import Method, create_method, list_methods, register_method

__all__ = ["DiffOutcome", "DiffSettings", "Method", "create_method", "differentiable_search", "list_methods",
           "register_method"]
