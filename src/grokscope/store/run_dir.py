"""A run directory: resolved config, metrics, events, checkpoint and figures of one cohort.

    runs/<name>/
      .grokscope-run     the marker: this folder is a grokscope run (--overwrite needs it)
      .grokscope.lock    the lock held by the process training it (see `store.lock`)
      config.yaml        the fully resolved config (re-runnable on its own)
      metrics.parquet    one row per (step, member, split); probe scalars as rows of split
                         `probe`, one column each; written when the run ends
      metrics.parts/     Parquet parts flushed at each checkpoint while the run is going
      spectra.parquet    vector probes: one row per (step, member, probe, index); and parts
      events.json        detected grokking events per member, and the run's status
      checkpoint.pt      model, optimizer and sampler state at the last checkpoint
      weights/           the live members' weights at the steps `train.keep_weights` names
                         (`step-<n>.pt`): what a lottery ticket is pruned from
      curves.png         train/test accuracy and loss vs step, grokking marked
      report.html        the self-contained report (`grokscope report`, `grokscope watch`)
      exports/<to>/      tracker exports written while training (`export:` in the config)

Parts are named by the last step they hold. A resumed run drops the parts beyond its
checkpoint, so no (member, step) row is lost or repeated. The consolidated file records in
its metadata the last part it holds (`through_step`): a part at or below it is already in the
file, so a crash between writing the file and removing the parts duplicates nothing.
"""

from __future__ import annotations

import io
import json
import math
import pickle
import re
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from grokscope.errors import ConfigError
from grokscope.store import guard
from grokscope.store.atomic import (
    remove_empty_dir,
    remove_file,
    temp_files,
    write_atomic,
    write_text_atomic,
)
from grokscope.store.lock import LOCK_NAME
from grokscope.store.metrics import SCHEMA, SPECTRA_SCHEMA

MARKER = ".grokscope-run"
THROUGH = b"grokscope.through_step"
# Every name grokscope writes in a run directory (a sweep adds members.json): --overwrite
# removes these and nothing else.
OWN_FILES = re.compile(r"^(config\.yaml|metrics\.parquet|spectra\.parquet|events\.json|"
                       r"checkpoint\.pt|curves\.png|probe_.+\.png|members\.json|report\.html|"
                       r"checkpoint\.pt\.corrupt-\d+|" + re.escape(MARKER) + "|"
                       + re.escape(LOCK_NAME) + r"|\.(?:config\.yaml|metrics\.parquet|"
                       r"spectra\.parquet|events\.json|checkpoint\.pt|curves\.png|probe_.+\.png|"
                       r"members\.json|report\.html|part-\d+\.parquet|step-\d+\.pt|"
                       + re.escape(MARKER) + r")\.tmp-\d+)$")
OWN_FOLDERS = ("metrics.parts", "spectra.parts", "weights")
EXPORTS = "exports"  # a tree (TensorBoard runs, W&B offline runs): grokscope writes it all
PART = re.compile(r"^part-(\d+)\.parquet$")
WEIGHTS = re.compile(r"^step-(\d+)\.pt$")


def _save_torch(path: Path, state: dict[str, Any]) -> None:
    """torch.save, written atomically (a kill leaves the old file or the new one)."""
    import torch

    buffer = io.BytesIO()
    torch.save(state, buffer)
    write_atomic(path, lambda handle: handle.write(buffer.getvalue()))


def _parquet_writer(table: pa.Table) -> Any:
    return lambda handle: pq.write_table(table, handle)


def finite_json(value: Any) -> Any:
    """`value` with NaN and infinities as None: JSON has no NaN (json.dumps writes a bare
    `NaN` that strict readers reject)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


class RunStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        # (folder there, marker there) at the first write: what must still be there later
        self._seen: tuple[bool, bool] | None = None

    marker_path = property(lambda self: self.path / MARKER)
    config_path = property(lambda self: self.path / "config.yaml")
    metrics_path = property(lambda self: self.path / "metrics.parquet")
    parts_dir = property(lambda self: self.path / "metrics.parts")
    spectra_path = property(lambda self: self.path / "spectra.parquet")
    spectra_parts_dir = property(lambda self: self.path / "spectra.parts")
    events_path = property(lambda self: self.path / "events.json")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")
    weights_dir = property(lambda self: self.path / "weights")
    curves_path = property(lambda self: self.path / "curves.png")

    # --- ownership ----------------------------------------------------------------------
    def foreign_entries(self) -> list[str]:
        """Names in the directory that grokscope did not write (sorted)."""
        if not self.path.is_dir():
            return []
        out = []
        for entry in self.path.iterdir():
            own = (entry.name in (*OWN_FOLDERS, EXPORTS) and entry.is_dir()
                   and not entry.is_symlink()) or (OWN_FILES.match(entry.name) and entry.is_file())
            if not own:
                out.append(entry.name)
        out += self._foreign_exports()
        for folder in OWN_FOLDERS:
            sub = self.path / folder
            if sub.is_dir():
                out += [f"{folder}/{p.name}" for p in sub.iterdir()
                        if not (p.is_file() and (PART.match(p.name) or WEIGHTS.match(p.name)
                                                 or OWN_FILES.match(p.name)))]
        return sorted(out)

    def _foreign_exports(self) -> list[str]:
        """Under exports/: every folder must be an export grokscope marked, holding only the
        names its marker records (`grokscope.store.guard`)."""
        exports = self.path / EXPORTS
        if not exports.is_dir() or exports.is_symlink():
            return []
        out = []
        for folder in exports.iterdir():
            name = f"{EXPORTS}/{folder.name}"
            if folder.is_symlink() or not folder.is_dir() or not guard.is_marked(folder,
                                                                                 "export"):
                out.append(name)
                continue
            entries = guard.read_marker(folder, "export").get("entries", [])
            out += [f"{name}/{n}" for n in guard.foreign(folder, "export", entries)]
        return out

    def is_run(self) -> bool:
        """Carries the marker, or (a run written before markers existed) a config.yaml with
        stored results beside it and nothing grokscope would not have written: a user's
        folder holding only a config.yaml and a checkpoint.pt of their own is not a run."""
        if self.marker_path.is_file():
            return True
        results = self.events_path.is_file() or self.metrics_path.is_file() or \
            self.parts_dir.is_dir()
        return self.config_path.is_file() and results and not self.foreign_entries()

    def check_location(self) -> None:
        """Refuse a path where a run cannot go without mixing with what is there."""
        if self.path.exists() and not self.path.is_dir():
            raise ConfigError(f"run: {self.path} is a file, not a directory; give a run "
                              "directory (--out) that is new, empty or a grokscope run")
        foreign: list[str] = []
        if self.path.is_dir() and not self.marker_path.is_file():
            foreign = self.foreign_entries()
            if not foreign and not self.is_run():  # only grokscope's names, yet not a run:
                foreign = sorted(p.name for p in self.path.iterdir()  # a user's config.yaml
                                 if p.name != LOCK_NAME and not guard.MARKER_TEMP.match(p.name))
        if foreign:
            shown = ", ".join(foreign[:5])
            raise ConfigError(f"run: {self.path} is not a grokscope run directory (it holds "
                              f"{shown}); give a new or empty directory (--out, or --set "
                              "name=...)")

    def claim(self) -> None:
        """Mark the (new or empty) directory as a grokscope run."""
        if not self.marker_path.is_file():
            write_text_atomic(self.marker_path, json.dumps({"grokscope": "run"}) + "\n")

    def remove(self) -> None:
        """Delete the run (for --overwrite): only the files grokscope wrote, and only in a
        directory that carries the run marker; anything else is refused before any delete."""
        if not self.path.exists():
            return
        self.check_location()
        if not any(self.path.iterdir()):
            return
        foreign = self.foreign_entries()
        if foreign:
            raise ConfigError(f"--overwrite: {self.path} holds files grokscope did not write "
                              f"({', '.join(foreign[:5])}); nothing was deleted. Move them "
                              "out, or run somewhere else")
        # results first, config.yaml and the marker last: a kill half-way leaves either the
        # config with what is left of its results, or nothing trained at all
        last = {"config.yaml": 1, MARKER: 2, LOCK_NAME: 3}
        exports = self.path / EXPORTS
        if exports.is_dir():
            for export in sorted(exports.iterdir()):
                guard.release(export, "export", "--overwrite",
                              guard.read_marker(export, "export").get("entries", []))
            remove_empty_dir(exports)
        for folder in OWN_FOLDERS:
            for part in sorted((self.path / folder).glob("*")):
                remove_file(part)
            remove_empty_dir(self.path / folder)
        for entry in sorted(self.path.iterdir(), key=lambda p: (last.get(p.name, 0), p.name)):
            if entry.name != LOCK_NAME and entry.is_file():
                remove_file(entry)

    def temp_files(self) -> list[Path]:
        """Temporary files of interrupted writes, in the run and its parts folders."""
        return [p for folder in (self.path, self.parts_dir, self.spectra_parts_dir,
                                 self.weights_dir) for p in temp_files(folder)
                if OWN_FILES.match(p.name)]  # a `.notes.txt.tmp-1` of the user's stays

    def clean_temp(self) -> list[Path]:
        """Remove temporary files of interrupted writes (call it holding the run's lock)."""
        found = self.temp_files()
        for path in found:
            remove_file(path)
        return found

    # --- config -------------------------------------------------------------------------
    def has_config(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> str:
        if not self.has_config():
            raise ConfigError(f"run: {self.path} is not a grokscope run (no config.yaml)")
        try:
            return self.config_path.read_text()
        except UnicodeDecodeError:
            raise ConfigError(f"run: {self.config_path} is not text (corrupt); restore it "
                              "or retrain with --overwrite") from None

    def has_training(self) -> bool:
        """Anything trained is stored: a checkpoint, metrics (parts or merged) or events."""
        return (self.checkpoint_path.exists() or self.events_path.exists()
                or bool(self._parts(self.parts_dir)) or self.metrics_path.exists())

    def write_config(self, text: str) -> None:
        write_text_atomic(self.config_path, text)

    # --- metrics and spectra ----------------------------------------------------------
    def _tables(self) -> tuple[tuple[Path, Path, pa.Schema], ...]:
        return ((self.metrics_path, self.parts_dir, SCHEMA),
                (self.spectra_path, self.spectra_parts_dir, SPECTRA_SCHEMA))

    @staticmethod
    def _parts(folder: Path) -> list[tuple[int, Path]]:
        if not folder.is_dir():
            return []
        return sorted((int(m[1]), p) for p in folder.iterdir() if (m := PART.match(p.name)))

    def ensure_present(self) -> None:
        """The run directory must still be there, marked, while its run writes: a folder
        deleted (or moved) under a training run is not silently recreated with the steps
        already logged missing and no config.yaml; the run stops with one line."""
        seen = (self.path.is_dir(), self.marker_path.is_file())
        if self._seen is None:
            self._seen = seen  # (a store its caller did not claim has no marker, or no folder)
        if any(before and not now for before, now in zip(self._seen, seen, strict=True)):
            raise ConfigError(f"run: {self.path} was deleted or moved while its run was "
                              "training; the run stopped (start it again to train anew)")

    def _append(self, folder: Path, table: pa.Table, last_step: int) -> None:
        self.ensure_present()
        if table.num_rows:
            path = folder / f"part-{last_step:012d}.parquet"
            write_atomic(path, lambda handle: pq.write_table(table, handle))

    def append_metrics(self, table: pa.Table, last_step: int) -> None:
        """Flush rows with steps <= last_step as one part file."""
        self._append(self.parts_dir, table, last_step)

    def append_spectra(self, table: pa.Table, last_step: int) -> None:
        self._append(self.spectra_parts_dir, table, last_step)

    def truncate_after(self, step: int) -> None:
        """Forget rows logged after `step` (the checkpoint a resumed run restarts from)."""
        for _, folder, _ in self._tables():
            for last, path in self._parts(folder):
                if last > step:
                    remove_file(path)

    @staticmethod
    def _read(path: Path) -> pa.Table:
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowException) as exc:
            raise ConfigError(f"run: {path} is unreadable ({str(exc).splitlines()[0][:80]}); "
                              "restore it, or retrain with --overwrite") from None
        schema = SPECTRA_SCHEMA if path.name.startswith("spectra") or \
            path.parent.name == "spectra.parts" else SCHEMA
        wrong = [f.name for f in schema if f.name in ("step", "member") and (
            f.name not in table.column_names
            or not pa.types.is_integer(table.schema.field(f.name).type))]
        if wrong:
            raise ConfigError(f"run: {path} is not a grokscope table (column {wrong[0]!r} "
                              "missing or not integers); restore it, or retrain with "
                              "--overwrite")
        return table

    @classmethod
    def _through(cls, table: pa.Table | None) -> int:
        meta = (table.schema.metadata or {}) if table is not None else {}
        return int(meta.get(THROUGH, b"-1"))

    @classmethod
    def _load(cls, path: Path, folder: Path, schema: pa.Schema) -> tuple[pa.Table, int]:
        """The consolidated file plus the parts it does not hold yet, and the last step held;
        the schema's columns cast to its types, probe columns (present in some parts only)
        filled with nulls elsewhere."""
        merged = cls._read(path) if path.is_file() else None
        through = cls._through(merged)
        parts = [(last, p) for last, p in cls._parts(folder) if last > through]
        tables = ([merged.replace_schema_metadata(None)] if merged is not None else [])
        tables += [cls._read(p) for _, p in parts]
        last = max([through] + [s for s, _ in parts])
        if not tables:
            return schema.empty_table(), last
        try:
            cast = [t.cast(pa.schema([schema.field(n) if n in schema.names
                                      else t.schema.field(n) for n in t.column_names]))
                    for t in tables]
            return pa.concat_tables(cast, promote_options="default"), last
        except (pa.ArrowException, ValueError, TypeError) as exc:
            raise ConfigError(f"run: {path} or its parts hold another schema "
                              f"({str(exc).splitlines()[0][:80]}); restore it, or retrain "
                              "with --overwrite") from None

    def load_metrics(self) -> pa.Table:
        """Every flushed row: the consolidated file plus any parts of a run still going."""
        if (not self.metrics_path.is_file() and not self._parts(self.parts_dir)
                and self.events_path.is_file()):
            raise ConfigError(f"run: {self.metrics_path} is missing, so the stored events "
                              "cannot be checked or redrawn (they are kept as they are); "
                              "restore the file, or retrain with --overwrite")
        return self._load(*self._tables()[0])[0]

    def load_spectra(self) -> pa.Table:
        return self._load(*self._tables()[1])[0]

    def consolidate(self) -> None:
        """Merge the parts into metrics.parquet and spectra.parquet (atomically, recording the
        last part merged), then remove the parts."""
        first = [("step", "ascending"), ("member", "ascending")]
        orders = (first + [("split", "descending")],
                  first + [("probe", "ascending"), ("index", "ascending")])
        for (path, folder, schema), order in zip(self._tables(), orders, strict=True):
            parts = self._parts(folder)
            if parts:
                table, last = self._load(path, folder, schema)
                if last > self._through(self._read(path) if path.is_file() else None):
                    table = table.sort_by(order).replace_schema_metadata(
                        {THROUGH: str(last).encode()})
                    write_atomic(path, _parquet_writer(table))
            for _, part in parts:
                remove_file(part)
            for tmp in temp_files(folder):
                remove_file(tmp)
            remove_empty_dir(folder)  # a file someone else left there keeps the folder

    # --- checkpoint ---------------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        self.ensure_present()
        _save_torch(self.checkpoint_path, state)

    def load_checkpoint(self) -> dict[str, Any] | None:
        """The checkpoint, loaded with `weights_only=True`: tensors and plain Python values
        only, so a crafted file cannot run code (torch.load's pickle would)."""
        import torch
        from torch.torch_version import TorchVersion

        if not self.checkpoint_path.is_file():
            return None
        try:  # TorchVersion: a str subclass that checkpoints written before 0.2 hold
            with torch.serialization.safe_globals([TorchVersion]):
                return torch.load(self.checkpoint_path, map_location="cpu", weights_only=True)
        except (pickle.UnpicklingError, RuntimeError, EOFError, OSError, ValueError) as exc:
            reason = str(exc).strip().splitlines()[0][:100] if str(exc).strip() else \
                type(exc).__name__
            raise ConfigError(
                f"run: {self.checkpoint_path} cannot be loaded safely ({reason}); "
                "`grokscope doctor --repair` moves it aside (the run then restarts from "
                "step 0), or retrain with --overwrite") from None

    # --- kept weights -------------------------------------------------------------------
    def save_weights(self, step: int, state: dict[str, Any]) -> None:
        """The weights at `step` (`{"step", "ids", "params": {name: (E_live, ...)}}`)."""
        self.weights_dir.mkdir(exist_ok=True)
        _save_torch(self.weights_dir / f"step-{step}.pt", state)

    def weight_steps(self) -> list[int]:
        """The steps whose weights are kept, ascending."""
        if not self.weights_dir.is_dir():
            return []
        return sorted(int(m.group(1)) for p in self.weights_dir.iterdir()
                      if (m := WEIGHTS.match(p.name)))

    def load_weights(self, step: int) -> dict[str, Any]:
        """The weights kept at `step`, loaded with `weights_only=True`; a step not kept is a
        one-line error listing those that are."""
        import torch

        path = self.weights_dir / f"step-{step}.pt"
        if not path.is_file():
            kept = ", ".join(map(str, self.weight_steps())) or "none"
            raise ConfigError(f"run: {self.path} kept no weights at step {step} (kept: {kept});"
                              " list the step in the source's train.keep_weights and retrain")
        return torch.load(path, map_location="cpu", weights_only=True)

    # --- events -------------------------------------------------------------------------
    def write_events(self, events: dict[str, Any]) -> None:
        self.ensure_present()
        text = json.dumps(finite_json(events), indent=2, allow_nan=False)
        write_text_atomic(self.events_path, text + "\n")

    def read_events(self) -> dict[str, Any] | None:
        if not self.events_path.is_file():
            return None
        try:
            events = json.loads(self.events_path.read_text())
        except (ValueError, UnicodeDecodeError):
            raise ConfigError(f"run: {self.events_path} is corrupt (not JSON); delete it to "
                              "re-detect from the metrics, or retrain with --overwrite") from None
        if not isinstance(events, dict):
            raise ConfigError(f"run: {self.events_path} is corrupt (not a JSON object)")
        members = events.get("members", [])
        if not isinstance(members, list) or not all(isinstance(m, dict) for m in members):
            raise ConfigError(f"run: {self.events_path} is corrupt (members is not a list of "
                              "objects); delete it to re-detect from the metrics, or retrain "
                              "with --overwrite")
        return events

    def is_finished(self) -> bool:
        events = self.read_events()
        return bool(events and events.get("finished"))
