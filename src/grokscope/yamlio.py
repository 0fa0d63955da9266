"""Reading YAML written by people: UTF-8 text only, duplicate keys named, alias bombs refused.

PyYAML's `safe_load` keeps the last of two equal keys without a word and builds aliases by
reference, so a few lines can stand for 10^9 values that the first traversal expands. Every
config, sweep and reproduction file is read through `read_yaml`, which turns each of these
into a one-line ConfigError (or, for a duplicate key, a warning naming it).
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import yaml

from grokscope.errors import ConfigError

MAX_VALUES = 100_000  # a config holds hundreds; a sweep grid thousands at most


class DuplicateKeyWarning(UserWarning):
    """Two equal keys in one YAML mapping: the last one wins."""


class _Loader(yaml.SafeLoader):
    """SafeLoader that warns on duplicate keys."""

    source = "YAML"

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            try:
                key = self.construct_object(key_node, deep=True)
                hash(key)
            except (TypeError, yaml.YAMLError):
                continue  # unhashable keys fail in the base class with its own message
            if key in seen:
                warnings.warn(f"{self.source}: key {key!r} appears twice in one mapping "
                              f"(line {key_node.start_mark.line + 1}); the last value is used",
                              DuplicateKeyWarning, stacklevel=2)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _size(value: Any, memo: dict[int, int]) -> int:
    """Values in `value` once aliases are expanded, counted without expanding them."""
    if not isinstance(value, dict | list):
        return 1
    ident = id(value)
    if ident in memo:
        return memo[ident]
    memo[ident] = MAX_VALUES + 1  # a cycle (a recursive alias) counts as too large
    items = list(value.keys()) + list(value.values()) if isinstance(value, dict) else value
    total = 1
    for item in items:
        total += _size(item, memo)
        if total > MAX_VALUES:
            break
    memo[ident] = total
    return total


def parse_yaml(text: str, source: str = "YAML") -> Any:
    """YAML text to Python values, or a one-line ConfigError naming `source`."""
    loader_class = type("Loader", (_Loader,), {"source": source})
    loader = None
    try:
        loader = loader_class(text)
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or \
            exc.__class__.__name__
        problem = " ".join(str(problem).split())
        raise ConfigError(f"{source} is not valid YAML{where} ({problem})") from None
    except RecursionError:
        raise ConfigError(f"{source}: YAML nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if _size(data, {}) > MAX_VALUES:
        raise ConfigError(f"{source}: YAML expands to more than {MAX_VALUES:,} values (aliases "
                          "referring to aliases?); write the values out")
    return data


def read_yaml(path: str | Path, what: str = "config") -> Any:
    """The YAML file at `path`; `what` names it in errors ('config', 'sweep', ...)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{what}: no such file {str(path)!r}")
    try:
        text = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{what}: {path} is not UTF-8 text (byte {exc.start}); save it as "
                          "UTF-8 YAML") from None
    except OSError as exc:
        raise ConfigError(f"{what}: cannot read {path} ({exc.strerror})") from None
    if "\x00" in text:
        raise ConfigError(f"{what}: {path} is a binary file, not YAML")
    return parse_yaml(text, f"{what}: {path}")


def read_mapping(path: str | Path, what: str, empty: str | None = None) -> dict[str, Any]:
    """A YAML file that must hold a mapping with text keys. An empty file is an error whose
    hint is `empty` (None: an empty file is an empty mapping)."""
    data = read_yaml(path, what)
    if data is None:
        if empty is not None:
            raise ConfigError(f"{what}: {path} is empty; {empty}")
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{what}: {path} must hold a mapping of keys, got "
                          f"{type(data).__name__}")
    if any(not isinstance(k, str) for k in data):
        raise ConfigError(f"{what}: {path}: every top-level key must be text")
    return data
