"""What a space can do beyond ``Space``: typed capabilities, checked with ``isinstance``, not ``hasattr``.

A strategy or estimator asks only for what it needs: a tabular estimator needs ``TextForm`` (table rows
are arch strings) and uses ``Enumerable`` to check a table covers the space; BANANAS uses
``PathEncodable`` when it is there. A space has a capability by having the method (structural typing),
so a user's space needs no base class or registration for it.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import numpy as np

from archfit.space.base import Arch


@runtime_checkable
class Enumerable(Protocol):
    """Every architecture class can be listed (one canonical arch per class)."""

    def all_canonical(self, valid_only: bool = True) -> list[Arch]: ...


@runtime_checkable
class TextForm(Protocol):
    """Archs have a standard text form (e.g. NAS-Bench-201 arch strings); ``parse`` inverts ``format``."""

    def parse(self, text: str) -> Arch: ...

    def format(self, arch: Arch) -> str: ...


@runtime_checkable
class PathEncodable(Protocol):
    """A path encoding (White et al., BANANAS): a fixed-length vector invariant to dead edges."""

    def encode_paths(self, arch: Arch) -> np.ndarray: ...


@runtime_checkable
class Bounded(Protocol):
    """The largest arch is known (``Space.smallest`` always exists; ``largest`` is a capability)."""

    def largest(self) -> Arch: ...


@runtime_checkable
class GraphForm(Protocol):
    """Archs as a graph (nodes, edges, operations) for graph encoders and predictors."""

    def to_graph(self, arch: Arch) -> Any: ...


__all__ = ["Bounded", "Enumerable", "GraphForm", "PathEncodable", "TextForm"]
