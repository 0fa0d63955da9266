"""Probes: measurements of a cohort or its data, one `(E,)` value per member.

The names below load lazily: `grokscope.config` reads `grokscope.probes.config` (torch-free),
and importing this package must not pull in torch for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_API = {
    "distribution_shift": "grokscope.probes.shift",
    "group_accuracy": "grokscope.probes.groups",
    "mmd_rbf": "grokscope.probes.shift",
    "subclass_tv": "grokscope.probes.shift",
}


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(import_module(_API[name]), name)
    raise AttributeError(f"module 'grokscope.probes' has no attribute {name!r}")


__all__ = sorted(_API)
