"""``nb201``: the NAS-Bench-201 cell space — 6 edges x 5 operations = 15,625 encodings.

Choice ``n{j}.in{i}`` is the operation on the edge from node i to node j of the 4-node cell; the
standard arch string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` lists the same edges grouped by target
node. Many encodings compute the same function (a ``none`` edge or an identity makes edges
interchangeable): ``isomorphism_string`` is the computation the cell performs, with the terms of every
sum sorted, the same canonical string as the ``isomorphism_class`` column of the NAS-Bench-201 tables
(6,466 classes). ``canonical`` maps an arch to the first encoding of its class, so strategies never
evaluate one function twice. A cell whose output does not depend on its input (no path of non-``none``
edges from node 0 to node 3) is invalid: it computes zeros, which is known without training it.
"""

from __future__ import annotations

import itertools
from typing import Any, ClassVar

import numpy as np
from torch import nn

from archfit.errors import ArchfitError
from archfit.space import register_space
from archfit.space.base import Arch, Space, Value
from archfit.space.nb201_net import EDGES, OPS, Nb201Network

_BY_COST: tuple[str, ...] = ("none", "skip_connect", "avg_pool_3x3", "nor_conv_1x1", "nor_conv_3x3")  # cheapest first
EDGE_NAMES: tuple[str, ...] = tuple(f"n{to}.in{src}" for to, src in EDGES)
# Input→output routes through the cell, as edge indices into EDGES (for the path encoding).
ROUTES: tuple[tuple[int, ...], ...] = ((3,), (0, 4), (1, 5), (0, 2, 5))
_PARAMETRIC = OPS[1:]  # operations that let signal through, in path-encoding order


def parse_arch(text: str) -> Arch:
    """``|nor_conv_3x3~0|+|…~0|…~1|+|…~0|…~1|…~2|`` → ``Arch``; one-line ``ArchfitError`` if malformed."""
    nodes = str(text).strip().split("+")
    if len(nodes) != 3:
        raise ArchfitError(f"arch string {text!r} must have 3 '+'-separated nodes like '|op~0|+|op~0|op~1|+|op~0|op~1|op~2|'")
    values: dict[str, Value] = {}
    for to, node in enumerate(nodes, start=1):
        if not (node.startswith("|") and node.endswith("|")):
            raise ArchfitError(f"arch string {text!r}: node {to} {node!r} must be '|'-delimited")
        items = node[1:-1].split("|")
        if len(items) != to:
            raise ArchfitError(f"arch string {text!r}: node {to} must have {to} inputs, found {len(items)}")
        for src, item in enumerate(items):
            op, sep, index = item.partition("~")
            if sep != "~" or index != str(src):
                raise ArchfitError(f"arch string {text!r}: {item!r} must be 'op~{src}'")
            if op not in OPS:
                raise ArchfitError(f"arch string {text!r}: operation {op!r} is not one of {list(OPS)}")
            values[f"n{to}.in{src}"] = op
    return Arch(values)


def format_arch(arch: Arch) -> str:
    """Inverse of ``parse_arch``."""
    return "+".join("|" + "|".join(f"{arch[f'n{to}.in{src}']}~{src}" for src in range(to)) + "|" for to in (1, 2, 3))


_OPS_OF: dict[str, tuple[str, ...]] = {}  # arch key → ops in EDGES order (Arch lookups are linear scans)


def _ops(arch: Arch) -> tuple[str, ...]:
    ops = _OPS_OF.get(arch.key)
    if ops is None:
        try:
            ops = _OPS_OF[arch.key] = tuple(str(arch[name]) for name in EDGE_NAMES)
        except KeyError as exc:
            raise ArchfitError(f"arch {arch.to_json()} has no choice {exc.args[0]!r} of space 'nb201'") from None
    return ops


def isomorphism_string(ops: tuple[str, ...]) -> str:
    """The computation of the output node: ``(x)@op`` applies an op, ``+`` joins sorted terms, ``#`` is zero."""
    nodes = ["0"]
    for j in (1, 2, 3):
        terms = []
        for k, (to, src) in enumerate(EDGES):
            if to != j:
                continue
            op, source = ops[k], nodes[src]
            if op == "none" or source == "#":
                terms.append("#")
            elif op == "skip_connect":
                terms.append(source)
            else:
                terms.append(f"({source})@{op}")
        nodes.append("+".join(sorted(terms)))
    return nodes[3]


def is_connected(ops: tuple[str, ...]) -> bool:
    """True when some path of non-``none`` edges leads from the input (node 0) to the output (node 3)."""
    reached = [True, False, False, False]
    for k, (to, src) in enumerate(EDGES):  # EDGES is in topological order of ``to``
        if ops[k] != "none" and reached[src]:
            reached[to] = True
    return reached[3]


class _Classes:
    """All encodings enumerated once: isomorphism string → first encoding (the class representative)."""

    def __init__(self, ops_set: tuple[str, ...]) -> None:
        self.representative: dict[str, tuple[str, ...]] = {}
        self.of: dict[tuple[str, ...], str] = {}
        self.neighbours: dict[str, list[Arch]] = {}  # canonical key → its neighbours (memo)
        self.archs: dict[str, Arch] = {}  # isomorphism string → representative Arch (memo)
        for ops in itertools.product(ops_set, repeat=len(EDGES)):
            iso = isomorphism_string(ops)
            self.of[ops] = iso
            self.representative.setdefault(iso, ops)


@register_space("nb201")
class Nb201Space(Space):
    """NAS-Bench-201 cell space (6 edges x 5 ops); the standard 3-stage network for any input shape."""

    _classes: ClassVar[dict[tuple[str, ...], _Classes]] = {}

    def __init__(self, input_shape: tuple[int, ...] | list[int] = (3, 32, 32), num_classes: int = 10,
                 channels: int = 16, cells: int = 5, ops: tuple[str, ...] | list[str] = OPS) -> None:
        self._input_shape = tuple(int(v) for v in input_shape)
        if len(self._input_shape) not in (2, 3) or min(self._input_shape) < 1:
            raise ArchfitError(f"nb201 space: input shape {self._input_shape} must be (C, L) or (C, H, W)")
        if int(num_classes) < 2:
            raise ArchfitError(f"nb201 space: num_classes {num_classes} must be >= 2")
        if not (1 <= int(channels) <= 1024 and 1 <= int(cells) <= 32):  # beyond: unusable on a CPU
            raise ArchfitError(f"nb201 space: channels {channels} must be in [1, 1024] and cells {cells} in [1, 32]")
        unknown = [op for op in ops if op not in OPS]
        if unknown or len(set(ops)) != len(ops) or not set(ops) - {"none"}:
            raise ArchfitError(f"nb201 space: ops {list(ops)} must be distinct, from {list(OPS)}, "
                               "and include one that is not 'none'")
        self.ops = tuple(op for op in OPS if op in ops)  # standard order, whatever order was given
        self.num_classes, self.channels, self.cells = int(num_classes), int(channels), int(cells)
        self._choices: dict[str, tuple[Value, ...]] = {name: self.ops for name in EDGE_NAMES}
        self._edge_costs: tuple[tuple[int, int], dict[str, tuple[int, int]]] | None = None
        self._counted = 0  # archs counted directly before the per-edge decomposition pays off

    def exact_cost(self, arch: Arch) -> tuple[int, int]:
        """(FLOPs, parameters) of ``build(arch)`` without building it: 2 x MACs at batch 1, as ``count_flops``.

        Why: a meta-device count of this 17-cell network takes about a second, which dominated budgeted tabular
        searches. Every edge maps C channels to C at its stage's resolution and every edge is computed (dead
        ones too), so cost is a base plus one term per edge's op; both are counted once from the uniform cells
        (all edges one op) once more than ``len(ops)`` archs were asked for. Tested equal to ``count_flops``/
        ``count_params`` of the built network.
        """
        if self._edge_costs is None and self._counted < len(self.ops):  # a few archs: count them as they come
            self._counted += 1
            return self._meta_counts(_ops(arch))
        if self._edge_costs is None:  # from the (len(ops) + 1)-th arch on: the decomposition, counted once
            self._edge_costs = self._count_edge_costs()
        (flops, params), per_edge = self._edge_costs
        for op in _ops(arch):
            flops, params = flops + per_edge[op][0], params + per_edge[op][1]
        return flops, params

    def _meta_counts(self, ops: tuple[str, ...]) -> tuple[int, int]:
        """(FLOPs, parameters) of the network with cell ``ops``, counted on the meta device (no memory)."""
        import torch

        from archfit.cost.flops import count_flops, count_params

        with torch.device("meta"):
            model = Nb201Network(ops, self._input_shape, self.num_classes, self.channels, self.cells)
        return count_flops(model, self._input_shape), count_params(model)

    def _count_edge_costs(self) -> tuple[tuple[int, int], dict[str, tuple[int, int]]]:
        uniform = {op: self._meta_counts((op,) * len(EDGES)) for op in self.ops}
        base = uniform[self.ops[0]]
        per_edge = {}
        for op, (flops, params) in uniform.items():
            extra = (flops - base[0], params - base[1])  # len(EDGES) identical edges changed from ops[0] to op
            if extra[0] % len(EDGES) or extra[1] % len(EDGES):
                raise RuntimeError(f"nb201: edge costs of {op!r} are not equal across edges ({extra})")
            per_edge[op] = (extra[0] // len(EDGES), extra[1] // len(EDGES))
        return base, per_edge

    @property
    def choices(self) -> dict[str, tuple[Value, ...]]:
        return self._choices

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"input_shape": list(self._input_shape), "num_classes": self.num_classes,
                                  "channels": self.channels, "cells": self.cells}
        if self.ops != OPS:
            params["ops"] = list(self.ops)
        return params

    def classes(self) -> _Classes:
        """Enumerated once per operation set and shared by all instances (15,625 encodings: ~0.3 s)."""
        if self.ops not in self._classes:
            self._classes[self.ops] = _Classes(self.ops)
        return self._classes[self.ops]

    # -- the space's specifics -------------------------------------------------------------------
    def parse(self, text: str) -> Arch:
        return parse_arch(text)

    def format(self, arch: Arch) -> str:
        return format_arch(arch)

    def isomorphism_class(self, arch: Arch) -> str:
        """The canonical string of the cell's computation (the tables' ``isomorphism_class`` column)."""
        return isomorphism_string(_ops(arch))

    def canonical(self, arch: Arch) -> Arch:
        classes = self.classes()
        ops = _ops(arch)
        iso = classes.of.get(ops)
        if iso is None:
            raise ArchfitError(f"arch {arch.to_json()} uses operations outside {list(self.ops)} of space 'nb201'")
        representative = classes.representative[iso]
        if representative == ops:
            return arch
        if iso not in classes.archs:
            classes.archs[iso] = Arch(dict(zip(EDGE_NAMES, representative)))
        return classes.archs[iso]

    def is_valid(self, arch: Arch) -> bool:
        return is_connected(_ops(arch))

    def neighbours(self, arch: Arch) -> list[Arch]:
        """As ``Space.neighbours`` (distinct valid canonical archs one edge away), memoised per class."""
        classes, canonical = self.classes(), self.canonical(arch)
        cached = classes.neighbours.get(canonical.key)
        if cached is None:
            cached = classes.neighbours[canonical.key] = super().neighbours(canonical)
        return list(cached)

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """A uniformly chosen neighbour (as ``Space.mutate``, without copying the memoised list)."""
        options = self.classes().neighbours.get(arch.key)  # hit whenever ``arch`` is canonical
        if options is None:
            options = self.neighbours(arch)
        return options[rng.integers(len(options))] if options else arch

    def all_canonical(self, valid_only: bool = True) -> list[Arch]:
        """One arch per isomorphism class, in enumeration order (6,466 classes; fewer if ``valid_only``)."""
        reps = self.classes().representative.values()
        return [Arch(dict(zip(EDGE_NAMES, ops))) for ops in reps if not valid_only or is_connected(ops)]

    def smallest(self) -> Arch:
        """The cheapest cell of this op set: with the full set, the identity cell (one skip edge from input
        to output: no parameters, no FLOPs in cells); with a restricted set, its cheapest op on that edge
        and 'none' (or, without 'none', the cheapest op) everywhere else."""
        cheapest = next(op for op in _BY_COST if op in self.ops and op != "none")
        ops = ["none" if "none" in self.ops else cheapest] * len(EDGES)
        ops[EDGES.index((3, 0))] = cheapest
        return self.canonical(Arch(dict(zip(EDGE_NAMES, ops))))

    def encode_paths(self, arch: Arch) -> np.ndarray:
        """Path encoding (White et al., BANANAS): one feature per (route, op sequence) of non-``none``
        ops from input to output; 4 + 16 + 16 + 64 = 100 binary features, invariant to dead edges."""
        ops, parts = _ops(arch), []
        for route in ROUTES:
            one_hot = np.zeros(len(_PARAMETRIC) ** len(route), dtype=np.float32)
            if all(ops[k] != "none" for k in route):
                index = 0
                for k in route:
                    index = index * len(_PARAMETRIC) + _PARAMETRIC.index(ops[k])
                one_hot[index] = 1.0
            parts.append(one_hot)
        return np.concatenate(parts)

    def build(self, arch: Arch) -> nn.Module:
        return Nb201Network(_ops(arch), self._input_shape, self.num_classes, self.channels, self.cells)
