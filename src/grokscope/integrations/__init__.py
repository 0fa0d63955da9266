"""grokscope inside other trainers: thin adapters over `grokscope.Monitor`.

- `grokscope.integrations.lightning.GrokkingEarlyStopping`: a PyTorch Lightning callback
  (`pip install 'grokscope[lightning]'`);
- `grokscope.integrations.transformers.GrokkingCallback`: a Hugging Face `TrainerCallback`
  (`pip install 'grokscope[transformers]'`).

Each module imports its framework when imported; a missing one is a one-line
`grokscope.ConfigError` naming the extra to install. docs/integrations.md shows both.
"""

from __future__ import annotations

import importlib
from typing import Any

from grokscope.errors import ConfigError


def require(modules: tuple[str, ...], extra: str) -> Any:
    """The first of `modules` that imports, or a one-line error naming the extra."""
    for name in modules:
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise ConfigError(f"grokscope.integrations.{extra} needs {modules[-1].split('.')[0]}: "
                      f"pip install 'grokscope[{extra}]'")


def metric(metrics: dict[str, Any], key: str | None, role: str, where: str) -> float | None:
    """A logged value by its key (a tensor or a number), or a one-line error naming the
    key, its role and the keys that are there."""
    if key is None:
        return None
    if key not in metrics:
        shown = ", ".join(sorted(map(str, metrics))[:12]) or "none"
        raise ConfigError(f"{where}: no logged metric {key!r} for {role} (logged: {shown}); "
                          f"log it, or name the key with {role}=")
    value = metrics[key]
    return float(value.item() if hasattr(value, "item") else value)
