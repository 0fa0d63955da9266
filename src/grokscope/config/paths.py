"""Dotted paths into config data (`optim.lr`, `split.fraction`): get, set, flatten, merge.

One implementation for config overrides, sweeps, packing and reproductions; torch-free.
"""

from __future__ import annotations

import copy
from typing import Any

from grokscope.errors import ConfigError


def get(data: Any, key: str, default: Any = None) -> Any:
    """`data["a"]["b"]` for key `a.b`; `default` where a part is missing or not a section."""
    node = data
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def set(data: dict[str, Any], key: str, value: Any) -> None:  # noqa: A001 - paths.set
    """`data["a"]["b"] = value` for key `a.b`, creating missing sections."""
    node = data
    *parents, leaf = key.split(".")
    for part in parents:
        child = node.setdefault(part, {})
        if not isinstance(child, dict):
            raise ConfigError(f"{key}: {part!r} is not a section (it holds {child!r})")
        node = child
    node[leaf] = value


def flatten(data: dict[str, Any], prefix: str = "", sections: bool = False) -> dict[str, Any]:
    """Every leaf as `{dotted key: value}`; with `sections`, every section key too."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            if sections:
                out[dotted] = value
            out.update(flatten(value, dotted + ".", sections))
        else:
            out[dotted] = value
    return out


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """`override` on top of `base`, section by section. A tagged section (one with `name`)
    of another kind replaces the base's: `model: {name: mlp}` over a transformer does not
    inherit `d_model`."""
    out = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict) and (
                value.get("name") in (None, out[key].get("name"))):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out
