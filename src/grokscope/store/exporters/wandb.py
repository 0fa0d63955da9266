"""W&B offline runs: one run per member, `group` the cohort or sweep, no network, no login.

`wandb.init(mode="offline")` writes each run under `<out>/wandb/offline-run-*`; `wandb sync
<out>/wandb/offline-run-*` uploads them later, if ever. The run's config is the member's
settings, its summary the member's events, its history every metric and probe by step.
`read_offline` reads such a run back with wandb's own record format (its protobuf `Record`),
which is what `wandb sync` uploads, so what it returns is what W&B will show.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any

from grokscope.store.exporters import Writer, flat_settings, require

# wandb's transaction log: a 7-byte header, then LevelDB-style 32 KiB blocks of records,
# each with a 7-byte header (crc32, length, type: 1 full, 2 first, 3 middle, 4 last)
BLOCK, HEADER = 32768, 7
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


class WandbWriter(Writer):
    def __init__(self, out: Path, project: str = "grokscope") -> None:
        self.wandb = require("wandb", "wandb")
        self.out, self.project = Path(out), project
        self.out.mkdir(parents=True, exist_ok=True)
        self.runs: dict[str, Any] = {}
        for key, value in (("WANDB_MODE", "offline"), ("WANDB_SILENT", "true"),
                           ("WANDB_DISABLE_GIT", "true"), ("WANDB_DISABLE_CODE", "true")):
            os.environ.setdefault(key, value)

    def open(self, key: str, name: str, group: str, settings: dict[str, Any]) -> None:
        wandb = self.wandb
        self.runs[key] = wandb.init(
            mode="offline", dir=str(self.out), project=self.project, group=group, name=name,
            config=flat_settings(settings), reinit="create_new", job_type="train",
            settings=wandb.Settings(silent=True, console="off", x_disable_stats=True,
                                    save_code=False, disable_git=True))

    def scalars(self, key: str, step: int, values: dict[str, float]) -> None:
        self.runs[key].log(values, step=step)

    def finish(self, key: str, summary: dict[str, Any]) -> None:
        run = self.runs.pop(key)
        run.summary.update({k: v for k, v in summary.items() if v is not None})
        run.finish()

    def close(self) -> None:
        for run in self.runs.values():
            run.finish()
        self.runs.clear()
        # wait for wandb's service to exit: every record is then on disk, so what is read
        # back (or synced) right after is complete; the next init starts a new service
        self.wandb.teardown()


def _records(path: Path) -> list[bytes]:
    data = path.read_bytes()
    out, pos, pending = [], HEADER, b""
    while pos + HEADER <= len(data):
        left = BLOCK - pos % BLOCK
        if left < HEADER:  # a block's tail too short for a header is padding
            pos += left
            continue
        _, length, kind = struct.unpack("<IHB", data[pos:pos + HEADER])
        if kind == 0 and length == 0:
            pos += left
            continue
        chunk = data[pos + HEADER:pos + HEADER + length]
        pos += HEADER + length
        if kind == FULL:
            out.append(chunk)
        elif kind == FIRST:
            pending = chunk
        elif kind == MIDDLE:
            pending += chunk
        elif kind == LAST:
            out.append(pending + chunk)
    return out


def _key(item: Any) -> str:
    return item.key or "/".join(item.nested_key)


def read_offline(run_dir: Path) -> dict[str, Any]:
    """One offline run directory as `{"name", "group", "project", "config", "summary",
    "history": [{"_step", tag: value, ...}]}`, read from its `.wandb` file."""
    from wandb.proto import wandb_internal_pb2 as pb

    files = sorted(Path(run_dir).glob("run-*.wandb"))
    if not files:
        raise FileNotFoundError(f"{run_dir}: no run-*.wandb file (not a W&B offline run)")
    out: dict[str, Any] = {"config": {}, "summary": {}, "history": []}
    for blob in _records(files[0]):
        record = pb.Record()  # type: ignore[attr-defined]
        record.ParseFromString(blob)
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
            out.update(name=run.display_name, group=run.run_group, project=run.project,
                       id=run.run_id)
            out["config"].update({i.key: json.loads(i.value_json) for i in run.config.update
                                  if i.key != "_wandb"})
        elif kind == "config":
            out["config"].update({i.key: json.loads(i.value_json) for i in record.config.update
                                  if i.key != "_wandb"})
        elif kind == "summary":
            out["summary"].update({_key(i): json.loads(i.value_json)
                                   for i in record.summary.update if not _key(i).startswith("_")})
        elif kind == "history":
            out["history"].append({_key(i): json.loads(i.value_json) for i in record.history.item})
    return out


def offline_runs(out: Path) -> list[Path]:
    """The offline run directories under an export folder."""
    return sorted((Path(out) / "wandb").glob("offline-run-*"))
