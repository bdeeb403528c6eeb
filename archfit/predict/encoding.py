"""Encoders: what a predictor reads about an architecture.

``SpaceEncoder(space, parts, extra)`` serves cell spaces with ``n{to}.in{src}`` edge choices (``nb201``)
and, for feature rows, any space: ``features`` concatenates the requested parts — ``path`` (the
space's path encoding, BANANAS), ``onehot`` (one-hot per choice), ``counts`` (how many edges carry each
operation, and how many of them lie on an input→output route) — with the columns of an optional
``FeatureTable`` (e.g. precomputed zero-cost proxy scores). ``graph`` is the cell as a DAG with the
operations on nodes (input, one node per edge, output), the form GCN predictors read. ``statistics``
are free per-arch numbers to pre-train on: FLOPs and params of the built network (see ``free_stats``)
and the feature table's columns.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from archfit.errors import ArchfitError
from archfit.space.base import Arch, Space

PARTS = ("path", "onehot", "counts")
_EDGE = re.compile(r"^n(\d+)\.in(\d+)$")


@dataclass
class FeatureTable:
    """Extra feature columns per arch: ``values[key]`` is a row in the order of ``names``."""

    names: list[str]
    values: dict[str, np.ndarray] = field(default_factory=dict)

    def rows(self, keys: Sequence[str]) -> np.ndarray:
        missing = [k for k in keys if k not in self.values]
        if missing:
            raise ArchfitError(f"feature table has no row for arch {missing[0]} ({len(missing)} of {len(keys)} "
                               f"archs missing); expected every arch to have its {len(self.names)} columns")
        return np.stack([self.values[k] for k in keys]).astype(np.float64)


def signed_log(x: np.ndarray) -> np.ndarray:
    """sign(x) log(1 + |x|): tames the heavy tails of proxy scores for models that are not scale-free."""
    return np.sign(x) * np.log1p(np.abs(x))


class SpaceEncoder:
    """Feature rows, cell graphs and free statistics of archs of ``space`` (cached per arch key)."""

    def __init__(self, space: Space, parts: Sequence[str] = ("path", "onehot"), extra: FeatureTable | None = None) -> None:
        unknown = [p for p in parts if p not in PARTS]
        if unknown or not parts and extra is None:
            raise ArchfitError(f"encoder parts {list(parts)} must be from {list(PARTS)} (or empty with a feature table)")
        if "path" in parts and not hasattr(space, "encode_paths"):
            raise ArchfitError(f"space {space.name!r} has no path encoding; use parts ['onehot']")
        self.space, self.parts, self.extra = space, tuple(parts), extra
        self._rows: dict[str, np.ndarray] = {}
        self._edges: list[tuple[int, int, str]] | None = None

    def key(self, arch: Arch) -> str:
        return arch.key

    # -- feature rows ------------------------------------------------------------------------------
    def features(self, archs: Sequence[Arch]) -> np.ndarray:
        rows = []
        for arch in archs:
            row = self._rows.get(arch.key)
            if row is None:
                row = self._rows[arch.key] = self._row(arch)
            rows.append(row)
        x = np.stack(rows) if rows else np.zeros((0, 0), dtype=np.float32)
        if self.extra is not None:
            x = np.hstack([x, self.extra.rows([arch.key for arch in archs])]) if self.parts else \
                self.extra.rows([arch.key for arch in archs])
        return x

    def _row(self, arch: Arch) -> np.ndarray:
        pieces = {"path": lambda: self.space.encode_paths(arch), "onehot": lambda: self.space.encode(arch),
                  "counts": lambda: self._counts(arch)}
        parts = [np.asarray(pieces[p](), dtype=np.float32) for p in self.parts]
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    # -- the cell as a graph -----------------------------------------------------------------------
    def edges(self) -> list[tuple[int, int, str]]:
        """``(to, src, choice name)`` per cell edge, in choice order (needs ``n{to}.in{src}`` choices)."""
        if self._edges is None:
            edges = []
            for name in self.space.choices:
                match = _EDGE.match(name)
                if match is None:
                    raise ArchfitError(f"space {self.space.name!r}: choice {name!r} is not a cell edge 'n<to>.in<src>'; "
                                       "graph predictors need a cell space such as nb201")
                edges.append((int(match[1]), int(match[2]), name))
            self._edges = edges
        return self._edges

    def ops(self) -> list[str]:
        return [str(v) for v in next(iter(self.space.choices.values()))]

    def graph(self, archs: Sequence[Arch]) -> tuple[np.ndarray, np.ndarray]:
        """``(adjacency (n, V, V), node types (n, V, T))``: node 0 the cell input, one node per edge with
        its operation, node V-1 the output; an edge node reads the edge nodes entering its source node."""
        edges, ops = self.edges(), self.ops()
        v, types = len(edges) + 2, len(ops) + 2
        base = np.zeros((v, v), dtype=np.float32)
        last = max(to for to, _, _ in edges)
        for k, (to, src, _) in enumerate(edges):
            if src == 0:
                base[0, k + 1] = 1
            for j, (to2, _, _) in enumerate(edges):
                if to2 == src:
                    base[j + 1, k + 1] = 1
            if to == last:
                base[k + 1, v - 1] = 1
        adjacency = np.broadcast_to(base, (len(archs), v, v)).copy()
        nodes = np.zeros((len(archs), v, types), dtype=np.float32)
        nodes[:, 0, len(ops)] = 1
        nodes[:, v - 1, len(ops) + 1] = 1
        for i, arch in enumerate(archs):
            for k, (_, _, name) in enumerate(edges):
                nodes[i, k + 1, ops.index(str(arch[name]))] = 1
        return adjacency, nodes

    def _counts(self, arch: Arch) -> np.ndarray:
        """Edges per operation, then edges per operation on a live route (input → output, no ``none``)."""
        edges, ops = self.edges(), self.ops()
        last = max(to for to, _, _ in edges)
        values = [str(arch[name]) for _, _, name in edges]
        forward, backward = {0}, {last}
        for (to, src, _), op in sorted(zip(edges, values), key=lambda e: e[0][0]):
            if op != "none" and src in forward:
                forward.add(to)
        for (to, src, _), op in sorted(zip(edges, values), key=lambda e: -e[0][0]):
            if op != "none" and to in backward:
                backward.add(src)
        counts = np.zeros(2 * len(ops), dtype=np.float32)
        for (to, src, _), op in zip(edges, values):
            counts[ops.index(op)] += 1
            if op != "none" and src in forward and to in backward:
                counts[len(ops) + ops.index(op)] += 1
        return counts

    # -- free statistics ---------------------------------------------------------------------------
    def statistics(self, archs: Sequence[Arch]) -> np.ndarray:
        """log FLOPs and log params of the built network, then the feature table's columns."""
        from archfit.predict.free_stats import additive_costs

        model = additive_costs(self.space)
        stats = np.log1p(np.stack([model(arch) for arch in archs]).astype(np.float64))
        return np.hstack([stats, self.extra.rows([a.key for a in archs])]) if self.extra is not None else stats
