"""Long-form CSV: `metrics.csv` (run, member, step, metric, value), `events.csv` (per member)."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from grokscope.store.exporters import Writer, flat_settings


class CsvWriter(Writer):
    def __init__(self, out: Path) -> None:
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        self.handle = (self.out / "metrics.csv").open("a", newline="")
        self.rows = csv.writer(self.handle)
        if self.handle.tell() == 0:
            self.rows.writerow(["run", "group", "step", "metric", "value"])
        self.members: dict[str, dict[str, Any]] = {}
        self.summaries: list[dict[str, Any]] = []

    def open(self, key: str, name: str, group: str, settings: dict[str, Any]) -> None:
        self.members[key] = {"run": key, "name": name, "group": group, **flat_settings(settings)}

    def scalars(self, key: str, step: int, values: dict[str, float]) -> None:
        group = self.members[key]["group"]
        self.rows.writerows([key, group, step, tag, repr(value)] for tag, value in values.items())

    def finish(self, key: str, summary: dict[str, Any]) -> None:
        row = {**self.members.pop(key), **{k: v for k, v in summary.items()
                                           if not isinstance(v, list | dict)}}
        self.summaries.append(row)

    def flush(self) -> None:
        self.handle.flush()

    def close(self) -> None:
        self.handle.close()
        if self.summaries:
            columns = list(dict.fromkeys(k for row in self.summaries for k in row))
            with (self.out / "events.csv").open("w", newline="") as handle:
                writer = csv.DictWriter(handle, fieldnames=columns)
                writer.writeheader()
                writer.writerows(self.summaries)
