"""The task registry: every task is a settings class, a builder and a one-line description.

Registering a task is one decorator on its settings class (in grokscope or in another
package); the experiment schema's `task` field is rebuilt to accept it, `grokscope tasks`
lists it, and the common test trains it with every model. The builder is a callable or a
`"module:function"` path imported only when a run builds the task, so the config stays
torch-free. Other packages register through the `grokscope.tasks` entry-point group (see
`load_plugins`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

from grokscope.registry import Registry

PLUGIN_GROUPS = ("grokscope.tasks", "grokscope.transforms", "grokscope.probes", "grokscope.models",
                 "grokscope.splits")


@dataclass(frozen=True)
class TaskEntry:
    config: type  # a Strict settings class with a `name` literal
    build: str | Callable[[Any], Any]  # config -> TaskData, or "module:function"
    example: dict[str, Any] = field(default_factory=dict)  # tiny settings + split: smoke tests

    def builder(self) -> Callable[[Any], Any]:
        if callable(self.build):
            return self.build
        module, name = self.build.split(":")
        return getattr(import_module(module), name)


TASKS: Registry[TaskEntry] = Registry("task")


def register_task(*names: str, description: str, build: str | Callable[[Any], Any],
                  example: dict[str, Any] | None = None) -> Callable[[type], type]:
    """Decorator on a task's settings class: `names` are its `name` values (a class may serve
    several, e.g. equidistant and equivariant); `example` holds tiny `task` and `split`
    settings the common test trains with."""

    def add(config: type) -> type:
        for name in names:
            TASKS.register(name, description)(TaskEntry(config, build, example or {}))
        return config

    return add


_loaded = False


class PluginWarning(UserWarning):
    """An installed plug-in could not be loaded; grokscope goes on without it."""


def load_plugins() -> None:
    """Import every module other installed packages list under the entry-point groups
    `grokscope.tasks`, `.transforms`, `.probes`, `.models` and `.splits` (once per process); each
    registers itself.

    Each plug-in is loaded in isolation, after the built-ins: one that fails to import (an
    exception, a missing dependency, a syntax error, a missing module, even `sys.exit`) or
    registers a name already taken is reported in one line naming it and its error, and
    every other command and plug-in works on without it."""
    global _loaded
    if _loaded:
        return
    _loaded = True
    import warnings
    from importlib.metadata import entry_points

    import_module("grokscope.config.schema")  # the built-ins first: a plug-in cannot shadow one
    for group in PLUGIN_GROUPS:
        for entry in entry_points(group=group):
            try:
                entry.load()
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # noqa: BLE001 - SystemExit too: a plug-in's own
                dist = getattr(getattr(entry, "dist", None), "name", None)
                where = f"{entry.value}" + (f", package {dist}" if dist else "")
                reason = " ".join(str(exc).split())[:200] or "no message"
                warnings.warn(PluginWarning(
                    f"plug-in {entry.name!r} ({group}: {where}) not loaded: "
                    f"{type(exc).__name__}: {reason}"), stacklevel=2)
