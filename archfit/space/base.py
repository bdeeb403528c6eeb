"""The two nouns every method shares: ``Arch`` (one point of a space) and ``Space`` (the choices).

A space declares ``choices`` and ``build``; sampling, mutation, neighbours and a vector encoding are
derived from the choices generically. A space overrides only what is special to it: validity, the
canonical form of isomorphic encodings, the smallest network.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import torch
from torch import nn

from archfit.errors import ArchfitError
from archfit.io import parse_json_object

Value = int | float | str | bool


class Arch(Mapping[str, Value]):
    """An immutable mapping ``choice name → value`` with a stable key (hash of canonical JSON)."""

    __slots__ = ("_items", "_key", "_lookup")

    def __init__(self, values: Mapping[str, Value] | None = None, **kwargs: Value) -> None:
        merged = dict(values or {}, **kwargs)
        for name, value in merged.items():
            if not isinstance(name, str) or not isinstance(value, (int, float, str, bool)):
                raise ArchfitError(f"arch entry {name!r}: {value!r} must map a name to a number or string")
        self._items: tuple[tuple[str, Value], ...] = tuple(sorted(merged.items()))
        self._lookup = dict(self._items)  # O(1) lookups: a supernet reads dozens of choices per forward pass
        self._key = hashlib.sha1(self.to_json().encode()).hexdigest()[:16]

    def __getitem__(self, name: str) -> Value:
        return self._lookup[name]

    def __iter__(self) -> Iterator[str]:
        return (key for key, _ in self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __hash__(self) -> int:
        return hash(self._items)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Arch) and self._items == other._items

    def __repr__(self) -> str:
        return f"Arch({dict(self._items)!r})"

    @property
    def key(self) -> str:
        """Stable 16-hex-digit identifier; equal archs have equal keys across processes and runs."""
        return self._key

    def replace(self, **changes: Value) -> Arch:
        return Arch({**dict(self._items), **changes})

    def to_json(self) -> str:
        return json.dumps(dict(self._items), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Arch:
        return cls(parse_json_object("arch JSON", text, "an object mapping choice names to values"))


class Space(ABC):
    """A search space: named choices and a builder. Subclasses register with ``@register_space``."""

    name: ClassVar[str] = ""

    @property
    @abstractmethod
    def choices(self) -> dict[str, tuple[Value, ...]]:
        """Choice name → candidate values (ordered; the first value is the default)."""

    @abstractmethod
    def build(self, arch: Arch) -> nn.Module:
        """A freshly initialised ``nn.Module`` for ``arch`` (call ``torch.manual_seed`` first to fix it)."""

    @abstractmethod
    def params(self) -> dict[str, Any]:
        """JSON-serialisable constructor arguments, so ``create_space(name, **params)`` rebuilds it."""

    @property
    def input_shape(self) -> tuple[int, ...]:
        """Shape of one input sample, without the batch dimension (a space sets ``self._input_shape``)."""
        shape = getattr(self, "_input_shape", None)
        if shape is None:
            raise NotImplementedError(f"space {self.name!r} does not define an input shape")
        return shape

    def spec(self) -> dict[str, Any]:
        return {"name": self.name, "params": self.params()}

    # -- overridable specifics -------------------------------------------------------------------
    def canonical(self, arch: Arch) -> Arch:
        """The representative of ``arch``'s equivalence class (identity unless encodings alias)."""
        return arch

    def is_valid(self, arch: Arch) -> bool:
        return True

    def smallest(self) -> Arch | None:
        """An arch of minimal cost, if the space knows one (used to refuse impossible budgets early)."""
        return None

    def size(self) -> int:
        """Number of encodings (an upper bound on distinct networks where encodings alias)."""
        return int(np.prod([len(values) for values in self.choices.values()], dtype=object))

    # -- derived from choices --------------------------------------------------------------------
    def validate(self, arch: Mapping[str, Value]) -> Arch:
        """Check names and values; return the canonical ``Arch`` or raise a one-line error."""
        choices = self.choices
        unknown = sorted(set(arch) - set(choices))
        if unknown:
            raise ArchfitError(f"arch has unknown choice {unknown[0]!r}; space {self.name!r} expects {sorted(choices)}")
        missing = sorted(set(choices) - set(arch))
        if missing:
            raise ArchfitError(f"arch is missing choice {missing[0]!r} of space {self.name!r}")
        for name, value in arch.items():
            if value not in choices[name] or type(value) is bool and True not in choices[name]:
                raise ArchfitError(f"arch choice {name}={value!r} is not one of {list(choices[name])}")
        result = arch if isinstance(arch, Arch) else Arch(arch)  # immutable: no need to copy (and re-hash) it
        if not self.is_valid(result):
            raise ArchfitError(f"arch {result.to_json()} is not a valid architecture of space {self.name!r}")
        return self.canonical(result)

    def sample(self, rng: np.random.Generator) -> Arch:
        """Uniform over encodings, rejecting invalid ones; returns the canonical form."""
        for _ in range(10_000):
            arch = Arch({name: values[rng.integers(len(values))] for name, values in self.choices.items()})
            if self.is_valid(arch):
                return self.canonical(arch)
        raise ArchfitError(f"space {self.name!r}: could not sample a valid architecture")

    def mutate(self, arch: Arch, rng: np.random.Generator) -> Arch:
        """Change one choice to another value so that the canonical arch differs (a random neighbour)."""
        options = self.neighbours(arch)
        if not options:
            return arch
        return options[rng.integers(len(options))]

    def neighbours(self, arch: Arch) -> list[Arch]:
        """All distinct valid canonical archs one choice away, in a deterministic order."""
        seen = {arch.key}
        result = []
        for name, values in self.choices.items():
            for value in values:
                if value == arch[name]:
                    continue
                candidate = arch.replace(**{name: value})
                if not self.is_valid(candidate):
                    continue
                candidate = self.canonical(candidate)
                if candidate.key not in seen:
                    seen.add(candidate.key)
                    result.append(candidate)
        return result

    def encode(self, arch: Arch) -> np.ndarray:
        """One-hot per choice, concatenated in choice order (float32)."""
        parts = []
        for name, values in self.choices.items():
            one_hot = np.zeros(len(values), dtype=np.float32)
            one_hot[values.index(arch[name])] = 1.0
            parts.append(one_hot)
        return np.concatenate(parts)

    def example_input(self, batch: int = 1, device: str | torch.device = "cpu") -> torch.Tensor:
        return torch.randn(batch, *self.input_shape, device=device)
