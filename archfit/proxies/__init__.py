"""Zero-cost proxies: score an untrained network from one minibatch (or no data) — one file per proxy.

``score("naswot", model, batch)`` → float, higher = better for every proxy (each file states its sign
convention, the paper and what it needs). ``list_proxies()`` names them; ``aggregate`` combines several
proxies' scores over a population of architectures by rank (``archfit/proxies/aggregate.py``).
A proxy never changes the model it is given: it works on a deep copy.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from typing import Any, TypeVar

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.proxies.base import Batch, Proxy, data_batch, random_batch
from archfit.registry import Registry

MODULES = ("synflow", "snip", "grasp", "fisher", "grad_norm", "jacov", "naswot", "zen", "zico", "meco", "swap",
           "flops", "params")
_PROXIES: Registry[type[Proxy]] = Registry("zero-cost proxy", tuple(f"archfit.proxies.{m}" for m in MODULES))
P = TypeVar("P", bound=type[Proxy])


def register_proxy(name: str) -> Callable[[P], P]:
    """Class decorator: make a ``Proxy`` subclass available to ``create_proxy(name)`` and ``score``."""
    return _PROXIES.register(name)


def list_proxies() -> list[str]:
    return _PROXIES.names()


def create_proxy(name: str | Proxy, **params: Any) -> Proxy:
    if isinstance(name, Proxy):
        return name
    return _PROXIES.create(name, **params)


def score(proxy: str | Proxy, model: nn.Module, batch: Batch, seed: int = 0) -> float:
    """The proxy's score of ``model`` (left unchanged) on ``batch``; deterministic given ``seed``.

    Single-threaded determinism is the caller's business (``torch.set_num_threads(1)`` in benchmarks);
    a non-finite score is an ``ArchfitError`` so that no NaN reaches a ranking."""
    proxy = create_proxy(proxy)
    torch.manual_seed(seed)
    net = copy.deepcopy(model)
    value = float(proxy.score(net, batch))
    if not math.isfinite(value):
        raise ArchfitError(f"zero-cost proxy {proxy.name!r} gave a non-finite score {value} for this network")
    return value


__all__ = ["Batch", "Proxy", "create_proxy", "data_batch", "list_proxies", "random_batch", "register_proxy", "score"]
