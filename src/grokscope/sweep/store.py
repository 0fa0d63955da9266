"""The sweep directory: one sub-directory per cohort, and the table of every run.

    SWEEP_DIR/
      sweep.yaml               the spec as run (a copy)
      cohorts/<cohort-id>/     a run directory (config, metrics, events, checkpoint) plus
                               members.json: the run id, swept values and seed of each member
      table.parquet            one row per finished run: swept values, seed, detected events

A cohort directory is named by its members' run ids, so the same runs always land in the
same place: re-running a sweep finds finished runs and resumable cohorts by name.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from grokscope.config import paths
from grokscope.errors import ConfigError
from grokscope.experiment import finished_events
from grokscope.store import RunStore
from grokscope.store.atomic import write_atomic, write_text_atomic
from grokscope.training.members import is_member_list

EVENT_COLUMNS = ("verdict", "alpha0", "alpha1", "delay", "delta_S", "support", "censored",
                 "final_train_acc", "final_test_acc", "final_train_loss", "final_test_loss",
                 "spikes", "stop_step", "stop_rule", "last_step")


def read_members(path: Path) -> list[dict[str, Any]]:
    """A cohort's members.json: a list of members, each an object with its run `id`; a
    damaged file is a one-line error naming it."""
    try:
        members = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, UnicodeDecodeError, OSError):
        members = None
    if not isinstance(members, list) or not all(
            isinstance(m, dict) and isinstance(m.get("id"), str) for m in members):
        raise ConfigError(f"sweep: {path} is corrupt (not a list of members with their run "
                          "ids); restore it, or run the sweep again with --overwrite")
    return members


class SweepStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    cohorts_dir = property(lambda self: self.path / "cohorts")
    table_path = property(lambda self: self.path / "table.parquet")
    spec_path = property(lambda self: self.path / "sweep.yaml")

    def cohort_dir(self, cohort_id: str) -> Path:
        return self.cohorts_dir / f"cohort-{cohort_id}"

    def write_members(self, cohort_id: str, members: list[dict[str, Any]]) -> None:
        write_text_atomic(self.cohort_dir(cohort_id) / "members.json",
                          json.dumps(members, indent=1) + "\n")

    def cohorts(self) -> list[tuple[Path, list[dict[str, Any]]]]:
        """Every cohort directory with its members (those without members.json skipped)."""
        if not self.cohorts_dir.is_dir():
            return []
        out = []
        for folder in sorted(self.cohorts_dir.glob("cohort-*")):
            members = folder / "members.json"
            if members.is_file():
                out.append((folder, read_members(members)))
        return out

    def relabel(self, runs: list[Any]) -> int:
        """Name each stored run by the current spec's swept values (a run id is what was
        trained, so the same run may first have been swept under other keys, e.g. a `zip`
        before it became a named recipe); returns how many members were renamed."""
        wanted = {run.id: dict(run.values) for run in runs}
        renamed = 0
        for folder, members in self.cohorts():
            changed = [m for m in members if m["id"] in wanted and m["values"] != wanted[m["id"]]]
            for member in changed:
                member["values"] = wanted[member["id"]]
            if changed:
                self.write_members(folder.name.removeprefix("cohort-"), members)
                renamed += len(changed)
        return renamed

    def finished_runs(self) -> dict[str, tuple[Path, int]]:
        """run id -> (cohort directory, member index) of every run whose cohort finished."""
        done = {}
        for folder, members in self.cohorts():
            events = RunStore(folder).read_events()
            if events and events.get("finished"):
                for index, member in enumerate(members):
                    done.setdefault(member["id"], (folder, index))
        return done

    def collect(self) -> pa.Table:
        """One row per finished run (first finished copy of each run id), written to
        table.parquet: run id, cohort, swept values, seed, then the detected events.

        A key swept in only some cohorts (the grid grew a new axis after they ran) is read
        from the other cohorts' configs, so every run has a value for every swept key."""
        finished = []
        for folder, members in self.cohorts():
            events = finished_events(RunStore(folder))
            if events:
                finished.append((folder, members, events["members"]))
        keys = list(dict.fromkeys(k for _, members, _ in finished for m in members
                                  for k in m["values"]))
        rows = []
        seen = set()
        for folder, members, member_events in finished:
            config = None
            for index, (member, row) in enumerate(zip(members, member_events, strict=True)):
                if member["id"] in seen:
                    continue
                seen.add(member["id"])
                values = {}
                for key in keys:
                    if key in member["values"]:
                        values[key] = member["values"][key]
                        continue
                    if config is None:
                        config = yaml.safe_load(RunStore(folder).read_config())
                    values[key] = _member_value(config, key, index)
                rows.append({"run": member["id"], "cohort": folder.name.removeprefix("cohort-"),
                             **values, "seed": member["seed"],
                             **{k: row.get(k) for k in EVENT_COLUMNS}})
        if not rows:
            raise ConfigError(f"sweep: {self.path} holds no finished run yet")
        keys = list(dict.fromkeys(k for row in rows for k in row))
        table = pa.table({k: [row.get(k) for row in rows] for k in keys})
        write_atomic(self.table_path, lambda handle: pq.write_table(table, handle))
        return table


def _member_value(config: dict[str, Any], key: str, index: int) -> Any:
    """Member `index`'s value of a dotted key in a cohort's config (a per-member list or a
    value shared by every member); None where the config has no such key."""
    node = paths.get(config, key)
    return node[index] if is_member_list(key, node) else node


def load_sweep(path: str | Path) -> Any:
    """The sweep's table as a pandas DataFrame: one row per finished run (swept values, seed,
    verdict, alpha0, alpha1, delay, ...). Reads what is finished, also mid-sweep."""
    store = SweepStore(path)
    if not store.path.is_dir():
        raise ConfigError(f"sweep: no such sweep directory {str(path)!r}")
    return store.collect().to_pandas()
