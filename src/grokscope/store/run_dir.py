"""A run directory: resolved config, metrics, events, checkpoint and figures of one cohort.

    runs/<name>/
      config.yaml        the fully resolved config (re-runnable on its own)
      metrics.parquet    one row per (step, member, split); probe scalars as rows of split
                         `probe`, one column each; written when the run ends
      metrics.parts/     Parquet parts flushed at each checkpoint while the run is going
      spectra.parquet    vector probes: one row per (step, member, probe, index); and parts
      events.json        detected grokking events per member, and the run's status
      checkpoint.pt      model, optimizer and sampler state at the last checkpoint
      curves.png         train/test accuracy and loss vs step, grokking marked

Parts are named by the last step they hold. A resumed run drops the parts beyond its
checkpoint, so no (member, step) row is lost or repeated.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from grokscope.errors import ConfigError
from grokscope.store.atomic import write_atomic, write_text_atomic
from grokscope.store.metrics import SCHEMA, SPECTRA_SCHEMA


class RunStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    metrics_path = property(lambda self: self.path / "metrics.parquet")
    parts_dir = property(lambda self: self.path / "metrics.parts")
    spectra_path = property(lambda self: self.path / "spectra.parquet")
    spectra_parts_dir = property(lambda self: self.path / "spectra.parts")
    events_path = property(lambda self: self.path / "events.json")
    checkpoint_path = property(lambda self: self.path / "checkpoint.pt")
    curves_path = property(lambda self: self.path / "curves.png")

    # --- config -------------------------------------------------------------------------
    def has_config(self) -> bool:
        return self.config_path.is_file()

    def read_config(self) -> str:
        if not self.has_config():
            raise ConfigError(f"run: {self.path} is not a grokscope run (no config.yaml)")
        return self.config_path.read_text()

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
        return sorted((int(p.stem.split("-")[1]), p) for p in folder.glob("part-*.parquet"))

    @staticmethod
    def _append(folder: Path, table: pa.Table, last_step: int) -> None:
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
                    path.unlink()

    @classmethod
    def _load(cls, path: Path, folder: Path, schema: pa.Schema) -> pa.Table:
        """The consolidated file plus any parts; the schema's columns cast to its types, probe
        columns (present in some parts only) filled with nulls elsewhere."""
        tables = [pq.read_table(path)] if path.is_file() else []
        tables += [pq.read_table(p) for _, p in cls._parts(folder)]
        if not tables:
            return schema.empty_table()
        cast = [t.cast(pa.schema([schema.field(n) if n in schema.names else t.schema.field(n)
                                  for n in t.column_names])) for t in tables]
        return pa.concat_tables(cast, promote_options="default")

    def load_metrics(self) -> pa.Table:
        """Every flushed row: the consolidated file plus any parts of a run still going."""
        return self._load(*self._tables()[0])

    def load_spectra(self) -> pa.Table:
        return self._load(*self._tables()[1])

    def consolidate(self) -> None:
        """Merge the parts into metrics.parquet and spectra.parquet (atomically), then remove
        them."""
        first = [("step", "ascending"), ("member", "ascending")]
        orders = (first + [("split", "descending")],
                  first + [("probe", "ascending"), ("index", "ascending")])
        for (path, folder, schema), order in zip(self._tables(), orders, strict=True):
            if not path.is_file() and not self._parts(folder):
                continue
            table = self._load(path, folder, schema).sort_by(order)
            write_atomic(path, lambda handle, t=table: pq.write_table(t, handle))
            for _, part in self._parts(folder):
                part.unlink()
            if folder.is_dir():
                folder.rmdir()

    # --- checkpoint ---------------------------------------------------------------------
    def save_checkpoint(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save(state, buffer)
        write_atomic(self.checkpoint_path, lambda handle: handle.write(buffer.getvalue()))

    def load_checkpoint(self) -> dict[str, Any] | None:
        if not self.checkpoint_path.is_file():
            return None
        return torch.load(self.checkpoint_path, map_location="cpu", weights_only=False)

    # --- events -------------------------------------------------------------------------
    def write_events(self, events: dict[str, Any]) -> None:
        write_text_atomic(self.events_path, json.dumps(events, indent=2) + "\n")

    def read_events(self) -> dict[str, Any] | None:
        if not self.events_path.is_file():
            return None
        return json.loads(self.events_path.read_text())
