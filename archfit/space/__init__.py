"""Search spaces by name: ``create_space("chain", input_shape=(1, 8, 8), num_classes=10)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from archfit.errors import ArchfitError
from archfit.space.base import Arch, Space

_REGISTRY: dict[str, type[Space]] = {}
S = TypeVar("S", bound=type[Space])


def register_space(name: str) -> Callable[[S], S]:
    """Class decorator: make a ``Space`` subclass available to ``create_space(name)``."""

    def decorate(cls: S) -> S:
        cls.name = name
        _REGISTRY[name] = cls
        return cls

    return decorate


def _load_builtins() -> None:
    from archfit.space import chain, nb201  # noqa: F401  (registration side effect)


def list_spaces() -> list[str]:
    _load_builtins()
    return sorted(_REGISTRY)


def space_class(name: str) -> type[Space]:
    _load_builtins()
    if name not in _REGISTRY:
        raise ArchfitError(f"unknown space {name!r}; expected one of {sorted(_REGISTRY)}")
    return _REGISTRY[name]


def create_space(name: str | Space, **params: Any) -> Space:
    """A space from its registered name and constructor parameters (or pass a ``Space`` through)."""
    if isinstance(name, Space):
        return name
    cls = space_class(name)
    try:
        return cls(**params)
    except TypeError as exc:
        raise ArchfitError(f"space {name!r}: bad parameters {params} ({exc})") from None


def space_from_spec(spec: dict[str, Any]) -> Space:
    """Inverse of ``Space.spec()``."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ArchfitError(f"space spec {spec!r} must be an object with 'name' and 'params'")
    return create_space(spec["name"], **spec.get("params", {}))


__all__ = ["Arch", "Space", "create_space", "list_spaces", "register_space", "space_class", "space_from_spec"]
