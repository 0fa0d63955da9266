"""Feeding tracker writers from runs: after the fact (`export_run`) or while training
(`ExportCallback`, the live sink behind `export:` in a config).

Both read what the run store holds, so a live export and a post-hoc one write the same
values: the live sink exports each Parquet part as the metric sink writes it (at every
checkpoint). A resumed run rewrites its export from the store up to the checkpoint it
resumes from, then goes on live, so no step is lost or written twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from grokscope.config import ExperimentConfig
from grokscope.config.exports import ExportSpec
from grokscope.errors import ConfigError
from grokscope.store import RunStore, guard
from grokscope.store.exporters import Writer
from grokscope.store.exporters.rows import member_steps
from grokscope.store.run_dir import EXPORTS
from grokscope.training.callbacks import Callback, Loop
from grokscope.training.members import resolve_members


@dataclass(frozen=True)
class Member:
    """One tracker run: the member's position in its cohort and how the tracker names it."""

    index: int
    key: str  # the run's folder or id in the tracker: unique within an export
    name: str
    group: str
    settings: dict[str, Any]


def members_of(config: ExperimentConfig, group: str | None = None,
               keys: list[str] | None = None, names: list[str] | None = None) -> list[Member]:
    """The cohort's members as tracker runs (default keys `member-<i>`, group the run name)."""
    specs = resolve_members(config)
    out = []
    for index, spec in enumerate(specs):
        key = keys[index] if keys else f"member-{index}"
        out.append(Member(index, key, names[index] if names else key, group or config.name,
                          {"task": config.task.name, "model": config.model.name,
                           "steps": config.train.steps, **spec.as_dict()}))
    return out


def default_dir(store: RunStore, spec: ExportSpec) -> Path:
    """Where an `export:` entry writes: its `dir`, else `<run>/exports/<name>` (a run's own
    exports/ folder, never a link to somewhere else)."""
    if spec.dir:
        return Path(spec.dir)
    exports = store.path / EXPORTS
    if exports.is_symlink() or (exports.exists() and not exports.is_dir()):
        raise ConfigError(f"export {spec.name!r}: {exports} is not a folder of the run's own "
                          "(a link or a file); move it away, or give the export a dir")
    return exports / spec.name


def check_folder(store: RunStore, spec: ExportSpec) -> tuple[Path, str]:
    """The folder of an `export:` entry and the setting that names it; refused, before
    anything is written, when the export cannot take it: a folder neither new, empty nor an
    export grokscope wrote, or one that overlaps the run directory (`grokscope.store.guard`)."""
    out = default_dir(store, spec)
    what = f"export {spec.name!r}" + (" dir" if spec.dir else "")
    if spec.dir:
        guard.refuse_overlap(out, store.path, what, "run directory")
    if guard.is_marked(out.resolve(), "export"):
        _same_source(out, store.path, what)
    else:
        guard.check_claim(out, "export", what)
    return out, what


def _same_source(out: Path, source: Path, what: str) -> None:
    """An export folder belongs to the run (or sweep) it was written from: another's is
    refused, never replaced."""
    recorded = guard.read_marker(out.resolve(), "export").get("source")
    if recorded is not None and Path(recorded) != Path(source).resolve():
        raise ConfigError(f"{what}: {out} holds the export of another run ({recorded}); give "
                          "this run's export another folder (nothing was written)")


def take_folder(out: Path, spec: ExportSpec, keys: list[str], what: str,
                source: Path) -> Path:
    """The export's folder, ready for a fresh writer: an export grokscope wrote there before
    from the same `source` (run or sweep) is removed (only the names its marker records), a
    new or empty folder is marked, anything else is refused before a file is touched."""
    real = Path(out).resolve()
    if guard.is_marked(real, "export"):
        _same_source(out, source, what)
        guard.release(real, "export", what, guard.read_marker(real, "export").get("entries", []))
    return guard.claim(out, "export", what, to=spec.name, entries=spec.entries(keys),
                       source=str(Path(source).resolve()))


def feed(writer: Writer, table: Any, members: list[Member]) -> None:
    """Every logged step of `table` into the writer (members already open)."""
    by_index = {m.index: m for m in members}
    for member, step, values in member_steps(table):
        if member in by_index:
            writer.scalars(by_index[member].key, step, values)


def finish(writer: Writer, members: list[Member], events: dict[str, Any]) -> None:
    rows = events.get("members", [])
    for member in members:
        summary = rows[member.index] if member.index < len(rows) else {}
        writer.finish(member.key, summary)


def export_run(store: RunStore, config: ExperimentConfig, writer: Writer,
               members: list[Member] | None = None) -> list[Member]:
    """Export one stored run (finished or still training) into an open writer."""
    members = members or members_of(config)
    for member in members:
        writer.open(member.key, member.name, member.group, member.settings)
    feed(writer, store.load_metrics(), members)
    finish(writer, members, store.read_events() or {})
    return members


class ExportCallback(Callback):
    """The live sink of one `export:` entry: each flushed part goes to the tracker at once."""

    def __init__(self, config: ExperimentConfig, spec: ExportSpec, store: RunStore) -> None:
        self.spec = spec
        self.out, self.what = check_folder(store, spec)
        self.writer: Writer | None = None
        self.members = members_of(config)

    def on_start(self, loop: Loop) -> None:
        super().on_start(loop)
        # a fresh start, or a resume: rebuilt from the store below
        self.out = take_folder(self.out, self.spec, [m.key for m in self.members], self.what,
                               loop.store.path)
        self.writer = self.spec.writer(self.out)
        for member in self.members:
            self.writer.open(member.key, member.name, member.group, member.settings)
        if loop.start > 0:
            feed(self.writer, loop.store.load_metrics(), self.members)

    def on_checkpoint(self, step: int) -> None:
        part = self.loop.store.parts_dir / f"part-{step:012d}.parquet"
        if self.writer is not None and part.is_file():
            feed(self.writer, pq.read_table(part), self.members)
            self.writer.flush()  # a TensorBoard open on the folder sees it now

    def finish(self, events: dict[str, Any]) -> None:
        """The run is finalized (after the loop, so not `on_end`): each member's events,
        then the files are closed."""
        if self.writer is not None:
            finish(self.writer, self.members, events)
            self.writer.close()
            self.writer = None
