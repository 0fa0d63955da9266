"""Probes: measurements of a cohort or its data, one `(E,)` value per member.

The names below load lazily: `grokscope.config` reads `grokscope.probes.config` (torch-free),
and importing this package must not pull in torch for it.
"""

from __future__ import annotations

from grokscope.lazy import lazy_attributes

_API = {
    "distribution_shift": "grokscope.probes.shift",
    "group_accuracy": "grokscope.probes.groups",
    "mmd_rbf": "grokscope.probes.shift",
    "subclass_tv": "grokscope.probes.shift",
}

__getattr__ = lazy_attributes("grokscope.probes", _API)

__all__ = sorted(_API)
