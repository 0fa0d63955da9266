"""`grokscope doctor`: what a crash (or a person) can leave in a run or sweep directory, found
and, with `repair=True`, fixed, never touching completed results.

Repairs are limited to what carries no result: temporary files of grokscope's own interrupted
writes, parts already merged into the consolidated file, a missing figure (redrawn from the
metrics), an unreadable checkpoint (moved aside, never deleted). A damaged result file
(metrics, events, config) is reported with what to do; it is never rewritten here.

Doctor acts only on folders grokscope created: a run directory carrying its marker
(`.grokscope-run`). A folder without it (a user's project that merely has a `config.yaml`) is
refused in one line and left exactly as it is; doctor never marks a folder.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from grokscope.errors import ConfigError
from grokscope.experiment import describe, load_run
from grokscope.report import plot_curves
from grokscope.store import guard
from grokscope.store.atomic import move, remove_empty_dir, remove_file, temp_files
from grokscope.store.lock import DirLock, lock_holder
from grokscope.store.run_dir import MARKER, RunStore

# temporary files of what a sweep writes at its top level (a user's `.x.tmp-1` stays)
SWEEP_TEMP = re.compile(r"^\.(sweep\.yaml|table\.parquet|report\.html|members\.json)\.tmp-\d+$")


@dataclass
class Finding:
    path: Path
    problem: str
    repair: str | None = None  # what repair=True does about it; None: only a person can
    repaired: bool = False

    @property
    def open(self) -> bool:
        return not self.repaired


def _run_findings(store: RunStore) -> list[tuple[Finding, object]]:
    """(finding, fix or None) pairs for one run directory, its lock free."""
    out: list[tuple[Finding, object]] = []
    path = store.path
    for tmp in store.temp_files():
        out.append((Finding(tmp, "temporary file of an interrupted write", "remove it"),
                    lambda tmp=tmp: remove_file(tmp)))
    for name in store.foreign_entries():
        out.append((Finding(path / name, "not written by grokscope (left alone)"), None))
    try:
        events = store.read_events()
    except ConfigError as exc:
        out.append((Finding(store.events_path, str(exc)), None))
        events = None
    finished = bool(events and events.get("finished"))
    try:
        if store.checkpoint_path.is_file():
            _check_fits(store, store.load_checkpoint())
    except ConfigError:
        aside = store.checkpoint_path.with_name(f"checkpoint.pt.corrupt-{int(time.time())}")
        out.append((Finding(store.checkpoint_path, "checkpoint cannot be loaded" + (
            "" if finished else " (the run will restart from step 0)"),
            f"move it aside to {aside.name}"),
            lambda aside=aside: move(store.checkpoint_path, aside)))
    try:
        table = store.load_metrics()
    except ConfigError as exc:
        out.append((Finding(store.metrics_path, str(exc)), None))
        table = None
    if finished:
        merged = [p for _, folder, _ in store._tables() for _, p in store._parts(folder)]
        if merged:
            out.append((Finding(store.parts_dir, f"{len(merged)} part files of a finished "
                                "run", "merge them into the consolidated files"),
                        store.consolidate))
        if table is not None and not store.curves_path.is_file():
            out.append((Finding(store.curves_path, "figure missing (a kill before it was "
                                "drawn)", "redraw it from the metrics"),
                        lambda: _redraw(store, events or {})))
    return out


def _check_fits(store: RunStore, state: dict | None) -> None:
    """A loadable checkpoint must also fit the run's model (a file copied from another run
    fails on resume): the cohort of the run's config is built and compared."""
    from grokscope.training.cohort import Cohort

    if state is None:
        return
    config, _ = load_run(store.path)
    wrong = Cohort(config, device=torch.device("cpu")).mismatch(state.get("cohort", {}))
    if wrong:
        raise ConfigError(f"checkpoint does not fit the run's model ({wrong})")


def _redraw(store: RunStore, events: dict) -> None:
    config, _ = load_run(store.path)
    plot_curves(store.load_metrics(), events["members"], store.curves_path,
                title=f"{config.name}: {describe(config)}")


def check_run(path: Path, repair: bool = False) -> list[Finding]:
    store = RunStore(path)
    if not store.marker_path.is_file():
        return [Finding(path, f"not a run grokscope created (no {MARKER} marker): not "
                        "checked, nothing changed")]
    holder = lock_holder(path)
    if holder:
        return [Finding(path, f"being trained by process {holder}: not checked now")]
    try:
        store.read_config()
    except ConfigError as exc:
        return [Finding(path, str(exc))]
    with DirLock(path, "run"):
        pairs = _run_findings(store)
        if repair:
            for finding, fix in pairs:
                if fix is not None:
                    fix()  # type: ignore[operator]
                    finding.repaired = True
    return [finding for finding, _ in pairs]


def check(path: str | Path, repair: bool = False) -> list[Finding]:
    """Findings for a run directory, or for a sweep directory and each of its cohorts."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise ConfigError(f"doctor: {str(path)!r} is a file; give a run or sweep directory")
    if not path.is_dir():
        raise ConfigError(f"doctor: no such directory {str(path)!r}")
    kind = guard.marked_as(path)
    if kind == "sweep" or (kind is None and (path / "cohorts").is_dir()
                           and guard.holds_only_own(path, "sweep")):
        return _check_sweep(path, repair)  # (or a sweep of an older grokscope: no marker)
    if not RunStore(path).marker_path.is_file():
        raise ConfigError(f"doctor: {str(path)!r} is not a directory grokscope created (no "
                          f"{MARKER} marker); doctor checks and repairs only grokscope's own "
                          "runs, so nothing was changed")
    return check_run(path, repair)


def _check_sweep(path: Path, repair: bool) -> list[Finding]:
    holder = lock_holder(path)
    if holder:
        return [Finding(path, f"sweep being run by process {holder}: not checked now")]
    findings = []
    for tmp in (p for p in temp_files(path) if SWEEP_TEMP.match(p.name)):
        finding = Finding(tmp, "temporary file of an interrupted write", "remove it")
        if repair:
            remove_file(tmp)
            finding.repaired = True
        findings.append(finding)
    for folder in sorted((path / "cohorts").glob("cohort-*")):
        store = RunStore(folder)
        if not (folder / "members.json").is_file() and not store.has_config():
            finding = Finding(folder, "cohort folder that never started (killed before "
                              "members.json)", "remove it")
            if repair and not store.foreign_entries() and lock_holder(folder) is None:
                store.remove()
                for leftover in folder.iterdir():
                    remove_file(leftover)
                remove_empty_dir(folder)
                finding.repaired = True
            findings.append(finding)
            continue
        findings += check_run(folder, repair)
    return findings
