"""One small registry: named entries with a one-line description, registered by decorator,
looked up with a one-line error that lists the allowed names. Torch-free."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from grokscope.errors import ConfigError

T = TypeVar("T")


def source_of(entry: object) -> str:
    """Where a registered entry comes from: its module (a task entry: its settings class's)."""
    inner = getattr(entry, "config", entry)
    return str(getattr(inner, "__module__", None) or getattr(entry, "__module__", "?"))


class Registry(Generic[T]):
    """`REG.register("name", "what it is")(obj)`; `REG.get("name", where="optim.transforms.0")`."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._entries: dict[str, tuple[T, str]] = {}
        self._listeners: list[Callable[[], None]] = []

    def register(self, name: str, description: str) -> Callable[[T], T]:
        def add(entry: T) -> T:
            if name in self._entries and self._entries[name][0] is not entry:
                raise ConfigError(f"{self.what} {name!r} is registered twice: by "
                                  f"{source_of(self._entries[name][0])} and by "
                                  f"{source_of(entry)}")
            self._entries[name] = (entry, description)
            for refresh in self._listeners:
                refresh()
            return entry

        return add

    def on_register(self, refresh: Callable[[], None]) -> None:
        """Call `refresh` after every later registration (the schema rebuilds a field)."""
        self._listeners.append(refresh)

    def get(self, name: str, where: str | None = None) -> T:
        if name not in self._entries:
            raise ConfigError(f"{where or self.what}: unknown {self.what} {name!r} (allowed: "
                              f"{', '.join(sorted(self._entries))})")
        return self._entries[name][0]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._entries))

    def in_order(self) -> list[str]:
        """Names in registration order (built-ins first): the order error messages list."""
        return list(self._entries)

    def describe(self) -> dict[str, str]:
        return {name: self._entries[name][1] for name in self}
