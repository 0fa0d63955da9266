"""Tracker exports: the stored metrics of runs, as the files other tools read.

A writer takes members (one tracker run each), their scalars step by step, and their
events at the end:

    writer.open(key, name, group, settings)   # one run per member
    writer.scalars(key, step, {tag: value})   # steps in increasing order
    writer.finish(key, summary)               # the member's events; ends its run
    writer.flush()                            # live: what was written is readable now
    writer.close()

Writers: TensorBoard event files (`tensorboard`), W&B offline runs (`wandb`), long-form CSV
(`csv`). The first two need the `track` extra; without it the writer says so in one line.
Their settings and registry are in `grokscope.config.exports`.
"""

from __future__ import annotations

import importlib
from typing import Any

from grokscope.errors import ConfigError


def require(module: str, exporter: str, package: str | None = None) -> Any:
    """Import a tracker's package, or a one-line error saying what to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ConfigError(f"export {exporter!r} needs the {package or module} package: pip "
                          f"install 'grokscope[track]' (or pip install {package or module})"
                          ) from None


class Writer:
    """Base of the writers: every method does nothing."""

    def open(self, key: str, name: str, group: str, settings: dict[str, Any]) -> None:
        pass

    def scalars(self, key: str, step: int, values: dict[str, float]) -> None:
        pass

    def finish(self, key: str, summary: dict[str, Any]) -> None:
        pass

    def flush(self) -> None:
        """Make what was written so far readable (a live export does it at each flush)."""

    def close(self) -> None:
        pass


def flat_settings(settings: dict[str, Any]) -> dict[str, bool | int | float | str]:
    """Settings as the scalar types trackers' hyper-parameter tables take (None left out,
    a list as its text)."""
    out: dict[str, bool | int | float | str] = {}
    for key, value in settings.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, bool | int | float | str) else str(value)
    return out


__all__ = ["Writer", "flat_settings", "require"]
