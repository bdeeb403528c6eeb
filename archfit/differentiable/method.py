"""The hooks a differentiable method overrides; the bilevel loop (``loop.py``) calls them.

A method is a small class registered by name (``@register_method("darts")``). The base class is DARTS
(Liu et al., ICLR 2019), first order: ``mixture`` says what the edges compute in a step (softmax of
alpha), ``step`` alternates one architecture step on the arch half of the data and one weight step on
the weight half, ``derive`` discretises (argmax alpha per edge). A variant overrides one or two hooks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar

import torch
import torch.nn.functional as F
from torch import nn

from archfit.registry import Registry

Batch = tuple[torch.Tensor, torch.Tensor]
MODULES = ("darts", "pcdarts", "gdas", "sharpdarts", "rarts", "dartspt", "ista", "topology", "robust",
           "proxyless")  # one module per method family, importing it registers its names
METHODS = (*MODULES, "darts2", "dartspt-fix", "proxyless-fill")  # second names of darts.py, dartspt.py, proxyless.py


class Method:
    """DARTS, first order. Subclasses override hooks; constructors only store parameters (and validate them)."""

    name: ClassVar[str] = ""
    spaces: ClassVar[tuple[str, ...]] = ("nb201", "darts")  # the spaces it searches (a cell supernet each)
    latency_budget: ClassVar[bool] = False  # searches under --max-latency-ms (needs one)
    partial: int = 1  # PC-DARTS channel fraction 1/K (the supernet is built with it)

    def start(self, loop) -> None:
        """Called once before the first epoch (and again on resume, before the checkpoint is loaded)."""
        self.loop = loop
        self.supernet = loop.supernet

    def begin_epoch(self, epoch: int) -> None:
        self.generator = torch.Generator().manual_seed(self.loop.settings.seed * 100_003 + epoch)

    # -- what the edges compute -------------------------------------------------------------------
    def op_weights(self, t: float) -> torch.Tensor:
        """(edges, ops) mixture weights at search progress ``t`` in [0, 1]."""
        return torch.softmax(self.supernet.alpha, dim=-1)

    def mixture(self, t: float, phase: str) -> None:
        """Fill ``supernet.state`` for the next forward; ``phase`` is "weights", "arch" or "eval"."""
        state = self.supernet.state
        state.weights, state.index, state.edge_scale = self.op_weights(t), None, None

    # -- one step --------------------------------------------------------------------------------
    def arch_loss(self, logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, y)

    def step(self, t: float, weights_batch: Batch, arch_batch: Batch) -> float:
        """One architecture step (first order: weights held fixed) and one weight step; returns the
        weight step's training loss."""
        loop = self.loop
        if not loop.warming_up:
            self.mixture(t, "arch")
            x, y = arch_batch
            loss = self.arch_loss(self.supernet(x), y)
            loop.arch_optimizer.zero_grad(set_to_none=True)
            loss.backward()
            loop.arch_optimizer.step()
            self.after_arch_step(t)
        return self.weight_step(t, weights_batch)

    def weight_step(self, t: float, batch: Batch) -> float:
        loop = self.loop
        self.mixture(t, "weights")
        x, y = batch
        loss = F.cross_entropy(self.supernet(x), y)
        loop.weight_optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(self.supernet.weight_parameters(), loop.settings.grad_clip)
        loop.weight_optimizer.step()
        return float(loss.detach())

    def after_arch_step(self, t: float) -> None:
        """A proximal or projection step on the architecture parameters (ISTA)."""

    def weight_lr(self, t: float, peak: float) -> float:
        """Cosine decay of the weights' learning rate to 0 over the search."""
        return 0.5 * peak * (1 + math.cos(math.pi * t))

    # -- the result ------------------------------------------------------------------------------
    def scores(self) -> torch.Tensor:
        """(edges, ops) preference the derivation ranks by (default: the mixture weights)."""
        with torch.no_grad():
            return self.op_weights(1.0).detach().clone()

    def derive(self) -> list[str]:
        """One op per edge: the highest score (repaired by ``loop.valid_ops`` if the cell is disconnected)."""
        return self.loop.valid_ops(self.scores())

    def state_tensors(self) -> dict[str, torch.Tensor]:
        """Method-owned tensors saved in the per-epoch checkpoint (e.g. RARTS's second network)."""
        return {}

    def load_state_tensors(self, tensors: dict[str, torch.Tensor]) -> None:
        pass

    def extras(self) -> dict[str, Any]:
        return {}


M = TypeVar("M", bound=type[Method])
_METHODS: Registry[type[Method]] = Registry("differentiable method",
                                            tuple(f"archfit.differentiable.{name}" for name in MODULES))


def register_method(name: str) -> Callable[[M], M]:
    return _METHODS.register(name)


def create_method(name: str, **params: Any) -> Method:
    """A method by name: one of ``METHODS`` (or a registered plug-in)."""
    return _METHODS.create(name, **params)


def method_class(name: str) -> type[Method]:
    """The registered class of a method name (one-line error for an unknown name)."""
    return _METHODS.get(name)


def list_methods() -> list[str]:
    return _METHODS.names()

