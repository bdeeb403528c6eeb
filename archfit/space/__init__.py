"""Search spaces by name: ``create_space("chain", input_shape=(1, 8, 8), num_classes=10)``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from archfit.errors import ArchfitError
from archfit.registry import Registry
from archfit.space.base import Arch, Space

_SPACES: Registry[type[Space]] = Registry("space", ("archfit.space.chain", "archfit.space.nb201", "archfit.space.darts"))
S = TypeVar("S", bound=type[Space])


def register_space(name: str) -> Callable[[S], S]:
    """Class decorator: make a ``Space`` subclass available to ``create_space(name)``."""
    return _SPACES.register(name)


def list_spaces() -> list[str]:
    return _SPACES.names()


def space_class(name: str) -> type[Space]:
    return _SPACES.get(name)


def create_space(name: str | Space, **params: Any) -> Space:
    """A space from its registered name and constructor parameters (or pass a ``Space`` through)."""
    if isinstance(name, Space):
        return name
    return _SPACES.create(name, **params)


def space_from_spec(spec: dict[str, Any]) -> Space:
    """Inverse of ``Space.spec()``."""
    if not isinstance(spec, dict) or "name" not in spec:
        raise ArchfitError(f"space spec {spec!r} must be an object with 'name' and 'params'")
    return create_space(spec["name"], **spec.get("params", {}))


__all__ = ["Arch", "Space", "create_space", "list_spaces", "register_space", "space_class", "space_from_spec"]
