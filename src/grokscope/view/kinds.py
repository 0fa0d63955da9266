"""What a results directory is: a run, a sweep or a reproduction (else a one-line error)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from grokscope.errors import ConfigError
from grokscope.reproduce.page import is_reproduction
from grokscope.store import RunStore
from grokscope.sweep.store import SweepStore

Kind = Literal["run", "sweep", "reproduction"]


def kind_of(path: Path, what: str = "report") -> Kind:
    """The kind of results held in `path`; a path that holds none is refused by name."""
    if not path.exists():
        raise ConfigError(f"{what}: no such directory {str(path)!r}")
    if not path.is_dir():
        raise ConfigError(f"{what}: {str(path)!r} is a file; give a run, sweep or "
                          "reproduction directory")
    store = RunStore(path)
    if store.has_config() and store.is_run():
        return "run"
    if SweepStore(path).cohorts_dir.is_dir() or (path / "sweep.yaml").is_file():
        return "sweep"
    if is_reproduction(path):
        return "reproduction"
    raise ConfigError(f"{what}: {str(path)!r} is not a grokscope run, sweep or reproduction "
                      "directory (a run holds config.yaml, a sweep cohorts/, a reproduction "
                      "events.csv and part-*/)")
