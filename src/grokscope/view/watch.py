"""`grokscope watch DIR`: keep the report current while a run (or sweep) trains.

The page is rewritten whenever the directory gains a flush (a new metrics part, new events)
and reloads itself every `interval` seconds, keeping the highlighted member and the scroll
position in the address (`#m=3&y=1200`); a browser left open on a long run follows it. Once
the run is finished the last page is written without the reload and the watch ends.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from grokscope.view.report import write_report


def fingerprint(path: Path) -> tuple:
    """What changes when a run or sweep flushes: names, sizes and times of its result files."""
    names = ("metrics.parquet", "events.json", "table.parquet", "spectra.parquet")
    found = []
    for pattern in (*names, "metrics.parts/*.parquet", "cohorts/*/events.json",
                    "cohorts/*/metrics.parts/*.parquet", "part-*/metrics.parts/*.parquet",
                    "part-*/events.json"):
        for entry in sorted(path.glob(pattern)):
            stat = entry.stat()
            found.append((str(entry.relative_to(path)), stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def is_done(path: Path) -> bool:
    """A run is done when its events say finished; a sweep (or reproduction) when no process
    holds its lock any longer and every cohort's events say finished: a cohort not started
    yet has no folder, so the folders alone cannot tell."""
    from grokscope.store import RunStore
    from grokscope.store.lock import lock_holder

    folders = sorted(path.glob("cohorts/*")) or sorted(path.glob("part-*"))
    if not folders:
        return RunStore(path).is_finished()
    return lock_holder(path) is None and all(RunStore(f).is_finished() for f in folders)


def watch(path: str | Path, interval: float = 5.0, out: str | Path | None = None,
          max_seconds: float | None = None,
          on_write: Callable[[Path, bool], None] | None = None) -> Path:
    """Rewrite the report on every flush until the run is finished (or `max_seconds`)."""
    path = Path(path)
    start, seen = time.monotonic(), None
    while True:
        now = fingerprint(path)
        done = is_done(path)
        if now != seen or done:
            target = write_report(path, out, cohorts=done, refresh=None if done else interval)
            if on_write:
                on_write(target, done)
            seen = now
        if done or (max_seconds is not None and time.monotonic() - start >= max_seconds):
            return target
        time.sleep(interval)
