"""Names a package exports without importing them until first use (`grokscope --help` and a
bad config file must not wait for torch)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any


def lazy_attributes(package: str, api: dict[str, str]) -> Callable[[str], Any]:
    """A module `__getattr__` that imports `api[name]` (a module path) on first access."""

    def __getattr__(name: str) -> Any:
        if name in api:
            return getattr(import_module(api[name]), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__
