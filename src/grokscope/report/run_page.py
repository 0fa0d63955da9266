"""What the HTML report shows of one run (a cohort): header, events table, curves, probes.

The page data is plain JSON (`report.html` embeds it): everything the page draws comes
from the run directory, downsampled for drawing (`report.downsample`), never altered. A run
that is still training is shown from what it has flushed, with verdicts detected on the
fly and marked provisional.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from grokscope.config import ExperimentConfig
from grokscope.config.describe import describe, describe_model, describe_recipe
from grokscope.detection import detect
from grokscope.report.downsample import BUCKETS, rounded, series
from grokscope.store import RunStore
from grokscope.store.lock import lock_holder
from grokscope.store.metrics import (
    PROBE_SPLIT,
    member_histories,
    probe_matrix,
    probe_names,
    spectrum_cube,
)
from grokscope.training.members import resolve_members

NORM = "weight_norm/total"  # drawn on the accuracy panel's twin axis (Liu et al. 2022)
EVENT_COLUMNS = ("verdict", "alpha0", "alpha1", "delay", "delta_S", "support",
                 "final_train_acc", "final_test_acc", "spikes", "stop_step", "stop_rule")
SETTING_KEYS = ("seed", "split_seed", "fraction", "n_train", "f", "batch_size", "lr",
                "weight_decay", "beta1", "beta2", "init_scale", "output_scale")
CURVES = ("train_acc", "test_acc", "train_loss", "test_loss")
SPECTRUM_STEPS = 6  # steps of each vector probe the page can show


def provisional_events(table: pa.Table, config: ExperimentConfig) -> list[dict[str, Any]]:
    """Per member, the detector on the steps flushed so far (a run still training)."""
    rows = []
    for member, c in member_histories(table).items():
        found = detect(c["steps"], c["train_acc"], c["test_acc"], config.detect,
                       c["train_loss"], c["test_loss"])
        rows.append({"member": member, **found.as_dict(),
                     "last_step": int(c["steps"][-1]) if len(c["steps"]) else None})
    return rows


def live_state(store: RunStore, table: pa.Table, config: ExperimentConfig,
               finished: bool) -> dict[str, Any] | None:
    """None for a finished run; else how far it is and whether a process is training it."""
    if finished:
        return None
    through = int(pc.max(table["step"]).as_py()) if table.num_rows else 0
    parts = sorted(store.parts_dir.glob("part-*.parquet")) if store.parts_dir.is_dir() else []
    flushed = max((p.stat().st_mtime for p in parts), default=None)
    holder = lock_holder(store.path)
    return {"through_step": through, "steps": config.train.steps,
            "training": holder is not None, "pid": holder,
            "flushed_at": time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(flushed))
            if flushed else None}


def header(store: RunStore, config: ExperimentConfig, events: dict[str, Any]) -> dict[str, Any]:
    """The metadata block: what was trained, how, where, with which versions, for how long."""
    versions = events.get("versions") or {}
    return {
        "name": config.name, "path": str(store.path), "task": describe(config),
        "model": describe_model(config), "recipe": describe_recipe(config),
        "members": config.cohort.members, "seed": config.cohort.seed,
        "device": events.get("device"), "train_seconds": events.get("train_seconds"),
        "compute_used": events.get("compute_used"),
        "torch": versions.get("torch"), "grokscope": versions.get("grokscope"),
        "python": versions.get("python"), "config_yaml": store.read_config(),
    }


def member_rows(config: ExperimentConfig, events: list[dict[str, Any]]) -> tuple[
        list[dict[str, Any]], list[str]]:
    """The events table: each member's varying settings, then its events; and its columns."""
    specs = [s.as_dict() for s in resolve_members(config)]
    varying = [k for k in SETTING_KEYS
               if k == "seed" or len({repr(s.get(k)) for s in specs}) > 1]
    rows = []
    for index, spec in enumerate(specs):
        event = events[index] if index < len(events) else {}
        rows.append({"member": index, **{k: spec.get(k) for k in varying},
                     **{k: event.get(k) for k in EVENT_COLUMNS}})
    columns = ["member", *varying, *[c for c in EVENT_COLUMNS
                                     if any(r.get(c) is not None for r in rows)]]
    return rows, columns


def curves(table: pa.Table, buckets: int = BUCKETS) -> dict[str, dict[str, Any]]:
    """`{member: {"train_acc"|"test_acc"|"train_loss"|"test_loss": {"s", "v"}}}`."""
    return {str(member): {name: series(c["steps"], c[name], buckets) for name in CURVES}
            for member, c in member_histories(table).items()}


def probes(table: pa.Table, buckets: int = BUCKETS) -> list[dict[str, Any]]:
    """Every recorded probe scalar over steps: `[{"name", "series": {member: {"s", "v"}}}]`."""
    if PROBE_SPLIT not in set(table["split"].unique().to_pylist()):
        return []
    out = []
    for name in probe_names(table):
        steps, matrix = probe_matrix(table, name)
        per_member = {str(m): series(steps, matrix[:, m], buckets)
                      for m in range(matrix.shape[1])}
        if any(s["s"] for s in per_member.values()):
            out.append({"name": name, "series": per_member})
    return out


def spectrum_steps(steps: np.ndarray, events: list[dict[str, Any]],
                   count: int = SPECTRUM_STEPS) -> list[int]:
    """Where to show a spectrum: the first and last measured step, the measured steps nearest
    the median memorization and generalization steps, and log-spaced steps between."""
    if not len(steps):
        return []
    wanted = [steps[0], steps[-1]]
    for key in ("alpha0", "alpha1"):
        marks = [e[key] for e in events if e.get(key) is not None
                 and (key == "alpha0" or e.get("verdict") == "grokked")]
        if marks:
            wanted.append(float(np.median(marks)))
    positive = steps[steps > 0]
    if len(positive):
        wanted += list(np.geomspace(positive[0], positive[-1], count))
    chosen: list[int] = []
    for target in wanted:
        nearest = int(steps[np.argmin(np.abs(steps - target))])
        if nearest not in chosen:
            chosen.append(nearest)
        if len(chosen) == count:
            break
    return sorted(chosen)


def spectra(table: pa.Table, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Vector probes (Fourier power of the embedding, per-group accuracy) at a few steps:
    `[{"name", "steps": [...], "values": {member: [[k values] per step]}}]`."""
    if not table.num_rows:
        return []
    out = []
    for name in sorted(set(table["probe"].unique().to_pylist())):
        steps, cube = spectrum_cube(table, name)  # (K, E, k)
        chosen = spectrum_steps(steps, events)
        rows = [int(np.searchsorted(steps, s)) for s in chosen]
        values = {str(m): [rounded(cube[r, m]) for r in rows] for m in range(cube.shape[1])}
        out.append({"name": name, "steps": chosen, "values": values})
    return out


def run_payload(store: RunStore, config: ExperimentConfig,
                buckets: int = BUCKETS) -> dict[str, Any]:
    """Everything the page shows of one run directory, finished or still training."""
    events = store.read_events() or {}
    finished = bool(events.get("finished"))
    table = store.load_metrics()
    member_events = events.get("members") if finished else provisional_events(table, config)
    rows, columns = member_rows(config, member_events or [])
    return {
        "kind": "run", "title": f"{config.name}: {describe(config)}",
        "header": header(store, config, events),
        "live": live_state(store, table, config, finished),
        "members": rows, "columns": columns,
        "curves": curves(table, buckets), "norm": NORM,
        "probes": probes(table, buckets),
        "spectra": spectra(store.load_spectra(), member_events or []),
    }
