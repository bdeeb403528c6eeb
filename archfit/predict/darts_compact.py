"""NASLib's compact DARTS genotype: ``[normal, reduction]``, each 8 ``(input node, op index)`` pairs, two
per intermediate node 2..5 (inputs 0 and 1 are the two previous cells), ops indexed into ``DARTS_OPS``;
both cells concatenate nodes 2..5. ``DartsCompactEncoder`` gives predictors feature rows (a one-hot per
slot of its input node and its op, plus op counts per cell), cell graphs (ops on nodes) and the feature
table's columns as free statistics — without a DARTS space class.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

import numpy as np

from archfit.errors import ArchfitError
from archfit.predict.encoding import FeatureTable

DARTS_OPS = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5", "dil_conv_3x3",
             "dil_conv_5x5")
Genotype = tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]
PARTS = ("onehot", "counts")


def parse_compact(text: str) -> Genotype:
    """``"[[(0, 0), (1, 5), ...], [...]]"`` → a validated genotype; one-line ``ArchfitError`` if malformed."""
    try:
        cells = ast.literal_eval(text) if isinstance(text, str) else text
        genotype = tuple(tuple((int(i), int(o)) for i, o in cell) for cell in cells)
    except (ValueError, SyntaxError, TypeError):
        genotype = ()
    ok = len(genotype) == 2 and all(len(cell) == 8 for cell in genotype) and all(
        0 <= i < 2 + slot // 2 and 0 <= o < len(DARTS_OPS) for cell in genotype for slot, (i, o) in enumerate(cell))
    if not ok:
        raise ArchfitError(f"DARTS compact genotype {str(text)[:80]!r} must be [normal, reduction] of 8 (input, op) "
                           f"pairs each, input < node index, op < {len(DARTS_OPS)}")
    return genotype  # type: ignore[return-value]


def compact_key(genotype: Genotype) -> str:
    return str([list(cell) for cell in genotype])


class DartsCompactEncoder:
    """Feature rows (``parts`` of ``onehot``/``counts`` plus ``extra`` columns), graphs and statistics."""

    def __init__(self, parts: Sequence[str] = ("onehot",), extra: FeatureTable | None = None) -> None:
        if any(p not in PARTS for p in parts) or not parts and extra is None:
            raise ArchfitError(f"DARTS encoder parts {list(parts)} must be from {list(PARTS)} (or empty with a feature table)")
        self.parts, self.extra = tuple(parts), extra

    def key(self, genotype: Genotype) -> str:
        return compact_key(genotype)

    def features(self, genotypes: Sequence[Genotype]) -> np.ndarray:
        rows = [self._row(g) for g in genotypes]
        x = np.stack(rows) if self.parts else np.zeros((len(genotypes), 0), dtype=np.float32)
        if self.extra is not None:
            x = np.hstack([x, self.extra.rows([self.key(g) for g in genotypes])])
        return x

    def _row(self, genotype: Genotype) -> np.ndarray:
        parts = []
        for cell in genotype:
            if "onehot" in self.parts:
                one_hot = np.zeros((8, 5 + len(DARTS_OPS)), dtype=np.float32)
                for slot, (i, o) in enumerate(cell):
                    one_hot[slot, i] = one_hot[slot, 5 + o] = 1
                parts.append(one_hot.ravel())
            if "counts" in self.parts:
                parts.append(np.bincount([o for _, o in cell], minlength=len(DARTS_OPS)).astype(np.float32))
        return np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)

    def graph(self, genotypes: Sequence[Genotype]) -> tuple[np.ndarray, np.ndarray]:
        """Both cells in one graph of 2 x 11 nodes (two inputs, 8 op nodes, the output per cell); node
        types: the op per cell kind (7 normal, 7 reduction), input, output."""
        v, types = 22, 2 * len(DARTS_OPS) + 2
        adjacency = np.zeros((len(genotypes), v, v), dtype=np.float32)
        nodes = np.zeros((len(genotypes), v, types), dtype=np.float32)
        for n, genotype in enumerate(genotypes):
            for c, cell in enumerate(genotype):
                base = 11 * c
                nodes[n, base, types - 2] = nodes[n, base + 1, types - 2] = nodes[n, base + 10, types - 1] = 1
                for slot, (i, o) in enumerate(cell):
                    op_node = base + 2 + slot
                    nodes[n, op_node, c * len(DARTS_OPS) + o] = 1
                    sources = [base + i] if i < 2 else [base + 2 + 2 * (i - 2), base + 3 + 2 * (i - 2)]
                    adjacency[n, sources, op_node] = 1
                    adjacency[n, op_node, base + 10] = 1
        return adjacency, nodes

    def statistics(self, genotypes: Sequence[Genotype]) -> np.ndarray:
        if self.extra is None:
            raise ArchfitError("DARTS encoder: free statistics come from a feature table (e.g. NASLib's flops, params)")
        return self.extra.rows([self.key(g) for g in genotypes])
