"""A run directory: resolved config, metrics, events, checkpoint and figures of one cohort.

    runs/<name>/
      config.yaml        the fully resolved config (re-runnable on its own)
      metrics.parquet    one row per (step, member, split); written when the run ends
      metrics.parts/     Parquet parts flushed at each checkpoint while the run is going
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
from grokscope.store.metrics import SCHEMA


class RunStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    config_path = property(lambda self: self.path / "config.yaml")
    metrics_path = property(lambda self: self.path / "metrics.parquet")
    parts_dir = property(lambda self: self.path / "metrics.parts")
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

    # --- metrics ------------------------------------------------------------------------
    def _parts(self) -> list[tuple[int, Path]]:
        if not self.parts_dir.is_dir():
            return []
        return sorted((int(p.stem.split("-")[1]), p) for p in self.parts_dir.glob("part-*.parquet"))

    def append_metrics(self, table: pa.Table, last_step: int) -> None:
        """Flush rows with steps <= last_step as one part file."""
        if table.num_rows:
            path = self.parts_dir / f"part-{last_step:012d}.parquet"
            write_atomic(path, lambda handle: pq.write_table(table, handle))

    def truncate_after(self, step: int) -> None:
        """Forget metrics logged after `step` (the checkpoint a resumed run restarts from)."""
        for last, path in self._parts():
            if last > step:
                path.unlink()

    def load_metrics(self) -> pa.Table:
        """Every flushed row: the consolidated file plus any parts of a run still going."""
        tables = [pq.read_table(self.metrics_path)] if self.metrics_path.is_file() else []
        tables += [pq.read_table(path) for _, path in self._parts()]
        if not tables:
            return SCHEMA.empty_table()
        return pa.concat_tables([t.cast(SCHEMA) for t in tables])

    def consolidate(self) -> None:
        """Merge the parts into metrics.parquet (atomically), then remove them."""
        table = self.load_metrics().sort_by(
            [("step", "ascending"), ("member", "ascending"), ("split", "descending")]
        )
        write_atomic(self.metrics_path, lambda handle: pq.write_table(table, handle))
        for _, path in self._parts():
            path.unlink()
        if self.parts_dir.is_dir():
            self.parts_dir.rmdir()

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
