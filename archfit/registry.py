"""Named plug-ins of one kind (spaces, strategies, supernet samplers): one registry type for all three."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from archfit.errors import ArchfitError

C = TypeVar("C", bound=type)


class Registry(Generic[C]):
    """Classes by name. ``register(name)`` is a class decorator (it also sets ``cls.name``); the built-in
    modules are imported on first lookup, since importing them is what registers them. Lookups and
    constructor errors are one-line ``ArchfitError``s naming the bad value and the choices."""

    def __init__(self, kind: str, builtin_modules: tuple[str, ...]) -> None:
        self.kind = kind  # in errors: "unknown <kind> 'x'; expected one of [...]"
        self.builtin_modules = builtin_modules
        self.classes: dict[str, C] = {}
        self.origins: dict[str, str] = {}  # name -> 'module.qualname' of the definition it came from
        self._loaded = False

    def register(self, name: str, origin: Any = None) -> Callable[[C], C]:
        """Register under ``name``; ``origin`` is what the entry was made from when it is not a class of its
        own (a cost metric's measure function). A second entry from a different definition replaces the first
        with a warning; the same definition executed again (a module re-imported, a docs example or notebook
        cell re-run: same module and qualified name) replaces it silently."""
        def decorate(cls: C) -> C:
            previous = self.classes.get(name)
            label = _label(cls if origin is None else origin)
            if previous is not None and previous is not cls and self.origins.get(name) != label:
                warnings.warn(f"{self.kind} {name!r} registered again: {label} replaces {self.origins.get(name)}",
                              stacklevel=2)
            cls.name = name
            self.classes[name] = cls
            self.origins[name] = label
            return cls

        return decorate

    def names(self) -> list[str]:
        self._load()
        return sorted(self.classes)

    def get(self, name: str) -> C:
        self._load()
        if name not in self.classes:
            raise ArchfitError(f"unknown {self.kind} {name!r}; expected one of {sorted(self.classes)}")
        return self.classes[name]

    def create(self, name: str, **params: Any) -> Any:
        cls = self.get(name)
        try:
            return cls(**params)
        except TypeError as exc:  # an unknown or missing keyword: the caller's input, not a bug
            raise ArchfitError(f"{self.kind} {name!r}: bad parameters {params} ({exc})") from None

    def _load(self) -> None:
        if not self._loaded:
            for module in self.builtin_modules:
                importlib.import_module(module)
            self._loaded = True


def _label(obj: Any) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', type(obj).__qualname__)}"
