"""FLOPs and params of every arch of a cell space from a few built networks.

In a cell space each edge's operation is its own module, so a network's FLOPs (2 x MACs, batch 1, as
``count_flops``) and parameter count are a constant plus one term per (edge, operation). Building the
all-``none`` network and one network per (edge, operation) — 1 + 6 x 4 for NAS-Bench-201, ~0.3 s each —
gives every term; two random networks check that the sum is exact, else the costs are refused.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np

from archfit.cost.flops import count_flops, count_params
from archfit.errors import ArchfitError
from archfit.space.base import Arch, Space

_CACHE: dict[str, Callable[[Arch], np.ndarray]] = {}


def _measure(space: Space, arch: Arch) -> np.ndarray:
    model = space.build(arch)
    return np.array([count_flops(model, space.input_shape), count_params(model)], dtype=np.float64)


def additive_costs(space: Space, checks: int = 2) -> Callable[[Arch], np.ndarray]:
    """``arch → [FLOPs, params]`` of ``space.build(arch)`` (cached per space configuration)."""
    key = json.dumps(space.spec(), sort_keys=True, default=str)
    if key in _CACHE:
        return _CACHE[key]
    names = list(space.choices)
    ops = [list(values) for values in space.choices.values()]
    if any("none" not in values for values in ops):
        raise ArchfitError(f"space {space.name!r}: additive costs need a 'none' operation on every edge")
    base_arch = Arch({name: "none" for name in names})
    base = _measure(space, base_arch)
    terms: dict[tuple[str, str], np.ndarray] = {}
    for name, values in zip(names, ops):
        for op in values:
            terms[name, op] = np.zeros(2) if op == "none" else _measure(space, Arch({**dict(base_arch), name: op})) - base

    def costs(arch: Arch) -> np.ndarray:
        return base + sum(terms[name, str(arch[name])] for name in names)

    rng = np.random.default_rng(0)
    for _ in range(checks):
        arch = space.sample(rng)
        if not np.allclose(costs(arch), _measure(space, arch), rtol=1e-9, atol=0.5):
            raise ArchfitError(f"space {space.name!r}: FLOPs/params are not additive over edges (arch {arch.to_json()})")
    _CACHE[key] = costs
    return costs
