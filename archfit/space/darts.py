"""``darts``: the DARTS / NASNet cell space (Liu et al. 2019; Zoph et al. 2018), as in NAS-Bench-301.

Two cells are searched, ``normal`` and ``reduce``; each has two inputs (nodes 0 and 1: the outputs of the
two previous cells) and four intermediate nodes 2..5. Node j sums two ops, each applied to an earlier
node; the cell outputs nodes 2..5 concatenated. Choices: ``{cell}.n{j}.in{s}`` (the input node of slot s
in 0, 1) and ``{cell}.n{j}.op{s}`` (one of the 7 ops DARTS derives; ``none`` is a search-time op only).
The two inputs of a node are distinct nodes (as the DARTS derivation picks them); swapping the two slots
of a node is the same cell, so ``canonical`` sorts them. Text forms: NASLib's compact genotype
``[[(input, op_index) x 8], [...]]`` (op indices into ``NASLIB_OPS``) and the DARTS ``Genotype(...)`` string.

The network: 3x3 stem conv to 3C channels, ``layers`` cells with reduction cells at 1/3 and 2/3 of the
depth (doubling channels, halving resolution), global average pool, linear classifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.space import register_space
from archfit.space.base import Arch, Space, Value
from archfit.space.dag import DagCell
from archfit.space.ops import FactorizedReduce, ReLUConvBN, layers, make_op

NASLIB_OPS: tuple[str, ...] = ("max_pool_3x3", "avg_pool_3x3", "skip_connect", "sep_conv_3x3", "sep_conv_5x5",
                               "dil_conv_3x3", "dil_conv_5x5")
CELLS, NODES = ("normal", "reduce"), (2, 3, 4, 5)


def _slots(arch: Arch, cell: str) -> list[tuple[int, str]]:
    """The 8 (input node, op) pairs of a cell, two per node, in node order."""
    try:
        return [(int(arch[f"{cell}.n{j}.in{s}"]), str(arch[f"{cell}.n{j}.op{s}"])) for j in NODES for s in (0, 1)]
    except KeyError as exc:
        raise ArchfitError(f"arch {arch.to_json()} has no choice {exc.args[0]!r} of space 'darts'") from None


def _from_slots(cells: dict[str, list[tuple[int, str]]]) -> Arch:
    values: dict[str, Value] = {}
    for cell, pairs in cells.items():
        for n, (src, op) in enumerate(pairs):
            j, s = NODES[n // 2], n % 2
            values[f"{cell}.n{j}.in{s}"], values[f"{cell}.n{j}.op{s}"] = src, op
    return Arch(values)


def parse_compact(text: str) -> Arch:
    """NASLib's compact genotype ``[[(0, 3), (1, 4), ...8 pairs], [...8 pairs]]`` → ``Arch``."""
    cells = re.findall(r"\[([^\[\]]*)\]", str(text))
    pairs = [[(int(a), int(b)) for a, b in re.findall(r"\(\s*(-?\d+)\s*,\s*(-?\d+)\s*\)", c)] for c in cells]
    if len(pairs) != 2 or any(len(p) != 8 for p in pairs):
        raise ArchfitError(f"darts genotype {str(text)[:80]!r} must be '[[(input, op) x 8], [(input, op) x 8]]'")
    slots = {}
    for cell, cell_pairs in zip(CELLS, pairs):
        for src, op in cell_pairs:
            if not 0 <= op < len(NASLIB_OPS):
                raise ArchfitError(f"darts genotype: op index {op} is not in 0..{len(NASLIB_OPS) - 1}")
        slots[cell] = [(src, NASLIB_OPS[op]) for src, op in cell_pairs]
    return _from_slots(slots)


def format_compact(arch: Arch) -> str:
    """Inverse of ``parse_compact`` (NASLib's spacing)."""
    cells = [", ".join(f"({src}, {NASLIB_OPS.index(op)})" for src, op in _slots(arch, c)) for c in CELLS]
    return "[" + ", ".join(f"[{c}]" for c in cells) + "]"


def format_genotype(arch: Arch) -> str:
    """The DARTS ``Genotype(normal=[(op, input), ...], normal_concat=[2, 3, 4, 5], ...)`` string."""
    parts = []
    for cell in CELLS:
        pairs = ", ".join(f"('{op}', {src})" for src, op in _slots(arch, cell))
        parts.append(f"{cell}=[{pairs}], {cell}_concat=[2, 3, 4, 5]")
    return f"Genotype({', '.join(parts)})"


def parse_genotype(text: str) -> Arch:
    """Inverse of ``format_genotype`` (also reads ``range(2, 6)`` concat fields)."""
    slots = {}
    for cell in CELLS:
        match = re.search(rf"\b{cell}=\[([^\]]*)\]", str(text))
        pairs = re.findall(r"\(\s*'(\w+)'\s*,\s*(\d+)\s*\)", match.group(1)) if match else []
        if len(pairs) != 8:
            raise ArchfitError(f"darts genotype {str(text)[:80]!r}: {cell} must list 8 ('op', input) pairs")
        slots[cell] = [(int(src), op) for op, src in pairs]
    return _from_slots(slots)


class DartsCell(nn.Module):
    """One cell: preprocess both inputs to C channels, the DAG of 8 edges, concat of nodes 2..5 (4C)."""

    def __init__(self, pairs: list[tuple[int, str]], ndim: int, c_pp: int, c_p: int, c: int, reduction: bool,
                 reduction_prev: bool) -> None:
        super().__init__()
        self.pre0 = FactorizedReduce(ndim, c_pp, c) if reduction_prev else ReLUConvBN(ndim, c_pp, c, 1)
        self.pre1 = ReLUConvBN(ndim, c_p, c, 1)
        edges = [(NODES[n // 2], src) for n, (src, _) in enumerate(pairs)]
        ops = [make_op(op, ndim, c, c, 2 if reduction and src < 2 else 1) for src, op in pairs]
        self.dag = DagCell(edges, ops, inputs=2, outputs=NODES, concat=True)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        return self.dag(self.pre0(s0), self.pre1(s1))


CellFactory = Callable[[int, int, int, int, bool, bool], nn.Module]  # (ndim, c_pp, c_p, c, reduce, reduce_prev)


def fixed_cells(arch: Arch) -> CellFactory:
    """The cells of one genotype: ``arch``'s normal or reduce cell at each position."""
    def make(ndim: int, c_pp: int, c_p: int, c: int, reduction: bool, reduction_prev: bool) -> nn.Module:
        pairs = _slots(arch, "reduce" if reduction else "normal")
        return DartsCell(pairs, ndim, c_pp, c_p, c, reduction, reduction_prev)
    return make


class DartsNetwork(nn.Module):
    """The DARTS skeleton around any cell (``make_cell``): a genotype's cells, or the supernet's mixed ones.
    Every cell maps two inputs to ``4 * c`` channels (nodes 2..5 concatenated)."""

    def __init__(self, make_cell: CellFactory, input_shape: tuple[int, ...], num_classes: int, channels: int,
                 layers_: int, stem_multiplier: int = 3) -> None:
        super().__init__()
        ndim = len(input_shape) - 1
        conv, norm, _, _, adaptive = layers(ndim)
        c_curr = stem_multiplier * channels
        self.stem = nn.Sequential(conv(input_shape[0], c_curr, 3, padding=1, bias=False), norm(c_curr))
        c_pp, c_p, c, reduction_prev = c_curr, c_curr, channels, False
        self.cells = nn.ModuleList()
        for i in range(layers_):
            reduction = i in (layers_ // 3, 2 * layers_ // 3)
            c = c * 2 if reduction else c
            self.cells.append(make_cell(ndim, c_pp, c_p, c, reduction, reduction_prev))
            reduction_prev = reduction
            c_pp, c_p = c_p, 4 * c
        self.pool = nn.Sequential(adaptive(1), nn.Flatten())
        self.classifier = nn.Linear(c_p, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.pool(s1))


@register_space("darts")
class DartsSpace(Space):
    """The DARTS cell space; ``channels`` C of the first cells, ``layers`` cells (8 in NAS-Bench-301, C=32)."""

    def __init__(self, input_shape: tuple[int, ...] | list[int] = (3, 32, 32), num_classes: int = 10,
                 channels: int = 16, layers: int = 8) -> None:
        self._input_shape = tuple(int(v) for v in input_shape)
        if len(self._input_shape) not in (2, 3) or min(self._input_shape) < 1:
            raise ArchfitError(f"darts space: input shape {self._input_shape} must be (C, L) or (C, H, W)")
        if int(num_classes) < 2 or int(channels) < 2 or int(layers) < 3:
            raise ArchfitError(f"darts space: num_classes {num_classes} >= 2, channels {channels} >= 2 and "
                               f"layers {layers} >= 3 expected")
        self.num_classes, self.channels, self.layers = int(num_classes), int(channels), int(layers)
        self._choices: dict[str, tuple[Value, ...]] = {}
        for cell in CELLS:
            for j in NODES:
                for s in (0, 1):
                    self._choices[f"{cell}.n{j}.in{s}"] = tuple(range(j))
                    self._choices[f"{cell}.n{j}.op{s}"] = NASLIB_OPS

    @property
    def choices(self) -> dict[str, tuple[Value, ...]]:
        return self._choices

    def params(self) -> dict[str, Any]:
        return {"input_shape": list(self._input_shape), "num_classes": self.num_classes,
                "channels": self.channels, "layers": self.layers}

    def parse(self, text: str) -> Arch:
        """NASLib compact form or a DARTS ``Genotype(...)`` string."""
        text = str(text).strip()
        return parse_genotype(text) if text.startswith("Genotype") else parse_compact(text)

    def format(self, arch: Arch) -> str:
        return format_compact(arch)

    def is_valid(self, arch: Arch) -> bool:
        return all(a[0] != b[0] for cell in CELLS for a, b in zip(*[iter(_slots(arch, cell))] * 2))

    def canonical(self, arch: Arch) -> Arch:
        cells = {}
        for cell in CELLS:
            pairs = _slots(arch, cell)
            cells[cell] = [p for n in range(0, 8, 2) for p in sorted(pairs[n:n + 2])]
        result = _from_slots(cells)
        return arch if result == arch else result

    def smallest(self) -> Arch:
        """Skip connections from the two cell inputs everywhere: no parameters inside cells."""
        return _from_slots({cell: [(0, "skip_connect"), (1, "skip_connect")] * 4 for cell in CELLS})

    def build(self, arch: Arch) -> nn.Module:
        return DartsNetwork(fixed_cells(arch), self._input_shape, self.num_classes, self.channels, self.layers)
