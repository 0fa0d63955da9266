"""Deterministic fault injection for the crash-consistency tests.

Every store operation (`grokscope.store.atomic`) calls `fault_point(kind, path)` before it
touches the disk. Two environment variables, read once per process, turn the points on:

- `GROKSCOPE_FAULT_TRACE=FILE`: append one line `kind<TAB>path` per point reached (the
  tests enumerate the points of a run this way);
- `GROKSCOPE_FAULT_AT=N`: SIGKILL this process at the N-th point (1-based), as a crash or a
  power cut would, with no clean-up of any kind.

With neither set, a point costs one function call and a None check.
"""

from __future__ import annotations

import os
import signal
from pathlib import Path

_state: dict[str, object] | None = None


def _settings() -> dict[str, object]:
    global _state
    if _state is None:
        at = os.environ.get("GROKSCOPE_FAULT_AT")
        _state = {"count": 0, "at": int(at) if at else None,
                  "trace": os.environ.get("GROKSCOPE_FAULT_TRACE")}
    return _state


def reset() -> None:
    """Forget the settings (read the environment again at the next point)."""
    global _state
    _state = None


def fault_point(kind: str, path: Path) -> None:
    state = _settings()
    if state["at"] is None and state["trace"] is None:
        return
    state["count"] = int(state["count"]) + 1  # type: ignore[call-overload]
    if state["trace"]:
        with open(str(state["trace"]), "a") as handle:
            handle.write(f"{kind}\t{path}\n")
    if state["count"] == state["at"]:
        os.kill(os.getpid(), signal.SIGKILL)
