"""`grokscope import`: a run logged by another tool becomes a grokscope run directory.

TensorBoard event files (one run per folder holding them: several runs become members), W&B
offline runs, or a CSV table (long form `run, step, metric, value` as `grokscope export`
writes it, or wide: a `step` column and one column per metric, an optional `run` column)
are read into per-member curves; the run directory then holds them as a run's metrics,
detected by the same code as a trained run, so `grokscope show | report | export | stopping`
work on it. Its config records the source (`source:`) and refuses to be trained.

Columns are found under common tag names (`train/accuracy`, `train_acc`, `val_acc`,
`eval_accuracy`, ...; `TAGS`); `--map train_acc=TAG` names any other.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from grokscope.errors import ConfigError

ROLES = ("train_acc", "test_acc", "train_loss", "test_loss", "weight_norm")
TAGS: dict[str, tuple[str, ...]] = {  # what other tools call each column, most specific first
    "train_acc": ("train/accuracy", "train_acc", "train/acc", "train_accuracy", "acc/train",
                  "accuracy/train", "eval_train_accuracy", "train/accuracy_epoch"),
    "test_acc": ("test/accuracy", "test_acc", "test/acc", "val_acc", "val/acc", "val_accuracy",
                 "valid_acc", "eval_accuracy", "eval_test_accuracy", "acc/test",
                 "accuracy/test", "accuracy/val"),
    "train_loss": ("train/loss", "train_loss", "loss/train", "eval_train_loss", "loss"),
    "test_loss": ("test/loss", "test_loss", "val_loss", "val/loss", "valid_loss", "eval_loss",
                  "eval_test_loss", "loss/test", "loss/val"),
    "weight_norm": ("weight_norm/total", "weight_norm", "param_norm"),
}
FORMATS = ("tensorboard", "wandb", "csv")
Run = tuple[str, dict[str, dict[int, float]]]  # (name, {tag: {step: value}})


def parse_map(items: Iterable[str]) -> dict[str, str]:
    """`--map role=TAG` values: the role must be one of ROLES."""
    out = {}
    for item in items:
        role, _, tag = item.partition("=")
        role = role.strip()
        if role not in ROLES or not tag.strip():
            raise ConfigError(f"--map: expected ROLE=TAG with ROLE one of {', '.join(ROLES)}, "
                              f"got {item!r}")
        out[role] = tag.strip()
    return out


# --- readers: runs as {tag: {step: value}} -------------------------------------------------
def read_tensorboard(path: Path) -> list[Run]:
    """Every folder at or under `path` holding event files is one run (sorted by name)."""
    from grokscope.store.exporters import require

    require("tensorboard", "tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folders = sorted({p.parent for p in path.rglob("events.out.tfevents.*")}) if path.is_dir() \
        else []
    if not folders:
        raise ConfigError(f"import: {path} holds no TensorBoard event files "
                          "(events.out.tfevents.*)")
    runs = []
    for folder in folders:
        acc = EventAccumulator(str(folder), size_guidance={"scalars": 0, "tensors": 0})
        try:
            acc.Reload()
        except Exception as exc:  # noqa: BLE001 - tensorboard's own errors, many kinds
            raise ConfigError(f"import: {folder} has a damaged event file "
                              f"({type(exc).__name__})") from None
        tags: dict[str, dict[int, float]] = {}
        for tag in acc.Tags().get("scalars", []):
            tags[tag] = {int(e.step): float(e.value) for e in acc.Scalars(tag)}
        for tag in acc.Tags().get("tensors", []):
            values = {}
            for event in acc.Tensors(tag):
                array = _tensor_value(event.tensor_proto)
                if array is not None:
                    values[int(event.step)] = array
            if values:
                tags[tag] = values
        name = str(folder.relative_to(path)) if folder != path else path.name
        runs.append((name, tags))
    return runs


def _tensor_value(proto: Any) -> float | None:
    from tensorboard.util import tensor_util

    try:
        array = tensor_util.make_ndarray(proto)
    except Exception:  # noqa: BLE001 - a text or image summary
        return None
    return float(array) if array.size == 1 and array.dtype.kind in "fiu" else None


def read_wandb(path: Path) -> list[Run]:
    """W&B offline runs (`offline-run-*` folders) at or under `path`."""
    from grokscope.store.exporters import require
    from grokscope.store.exporters.wandb import read_offline

    require("wandb", "wandb")
    folders = sorted(p.parent for p in path.rglob("run-*.wandb")) if path.is_dir() else []
    if not folders:
        raise ConfigError(f"import: {path} holds no W&B offline run (run-*.wandb)")
    runs = []
    for folder in folders:
        try:
            run = read_offline(folder)
        except Exception as exc:  # noqa: BLE001 - a damaged protobuf stream
            raise ConfigError(f"import: {folder} is not a readable W&B offline run "
                              f"({type(exc).__name__})") from None
        tags: dict[str, dict[int, float]] = {}
        for row in run["history"]:
            step = row.get("step", row.get("_step"))
            for tag, value in row.items():
                if tag not in ("step", "_step", "_runtime", "_timestamp") and isinstance(
                        value, int | float) and step is not None:
                    tags.setdefault(tag, {})[int(step)] = float(value)
        runs.append((run.get("name") or folder.name, tags))
    return runs


def read_csv(path: Path) -> list[Run]:
    """Long form (`step, metric, value`, optional `run`) or wide (`step` and one column per
    metric, optional `run`)."""
    import pandas as pd

    if not path.is_file():
        raise ConfigError(f"import: {path} is not a CSV file")
    try:
        frame = pd.read_csv(path)
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ConfigError(f"import: {path} is not a readable CSV table "
                          f"({' '.join(str(exc).split())[:80]})") from None
    if "step" not in frame.columns:
        raise ConfigError(f"import: {path} has no 'step' column (columns: "
                          f"{', '.join(map(str, frame.columns[:12]))})")
    if not pd.api.types.is_numeric_dtype(frame["step"]):
        raise ConfigError(f"import: {path}: the step column holds values that are not numbers")
    if "run" not in frame.columns:
        frame = frame.assign(run=path.stem)
    runs = []
    for name, rows in frame.groupby("run", sort=True):
        tags: dict[str, dict[int, float]] = {}
        if {"metric", "value"} <= set(rows.columns):
            for tag, part in rows.groupby("metric"):
                tags[str(tag)] = _series(part["step"], part["value"], path, str(tag))
        else:
            for column in rows.columns:
                if column not in ("run", "step", "group") and pd.api.types.is_numeric_dtype(
                        rows[column]):
                    tags[str(column)] = _series(rows["step"], rows[column], path, str(column))
        runs.append((str(name), tags))
    return runs


def _series(steps: Any, values: Any, path: Path, tag: str) -> dict[int, float]:
    out: dict[int, float] = {}
    for step, value in zip(steps, values, strict=True):
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if int(step) in out:
            raise ConfigError(f"import: {path}: {tag!r} has two values at step {int(step)}")
        out[int(step)] = float(value)
    return out


READERS = {"tensorboard": read_tensorboard, "wandb": read_wandb, "csv": read_csv}


# --- curves per member ----------------------------------------------------------------------
def curves_of(runs: list[Run], mapping: dict[str, str]) -> list[dict[str, np.ndarray]]:
    """Each run's columns by role, at the steps where both accuracies were logged."""
    out = []
    for name, tags in runs:
        chosen = {}
        for role in ROLES:
            if role in mapping:
                if mapping[role] not in tags:
                    raise ConfigError(f"--map {role}={mapping[role]}: run {name!r} logged no "
                                      f"such tag (it logged: {', '.join(sorted(tags)[:12])})")
                chosen[role] = mapping[role]
            else:
                found = next((t for t in TAGS[role] if t in tags), None)
                if found is not None:
                    chosen[role] = found
        missing = [r for r in ("train_acc", "test_acc") if r not in chosen]
        if missing:
            raise ConfigError(f"import: run {name!r} has no {missing[0]} (looked for "
                              f"{', '.join(TAGS[missing[0]][:5])}, ...; it logged: "
                              f"{', '.join(sorted(tags)[:12]) or 'nothing'}); name it with "
                              f"--map {missing[0]}=TAG")
        steps = sorted(set(tags[chosen["train_acc"]]) & set(tags[chosen["test_acc"]]))
        if not steps:
            raise ConfigError(f"import: run {name!r} logged train and test accuracy at no "
                              "common step")
        curve: dict[str, np.ndarray] = {"steps": np.asarray(steps, np.int64)}
        for role in ROLES:
            series = tags.get(chosen.get(role, ""), {})
            curve[role] = np.asarray([series.get(s, math.nan) for s in steps], np.float64)
        for role in ("train_acc", "test_acc"):
            values = curve[role][np.isfinite(curve[role])]
            if values.size and (values.min() < 0 or values.max() > 1):
                raise ConfigError(f"import: run {name!r}: {chosen[role]} is not an accuracy in "
                                  f"[0, 1] (max {values.max():g}); a percentage? name another "
                                  "tag with --map, or log a fraction")
        curve["name"] = np.asarray(name)
        curve["tags"] = np.asarray([f"{r}={chosen[r]}" for r in ROLES if r in chosen])
        out.append(curve)
    return out


def save_run(out: str | Path, curves: list[dict[str, np.ndarray]], source: dict[str, Any],
              budget: int | None = None, detect: dict[str, Any] | None = None) -> Path:
    """A grokscope run directory holding `curves` (one member each) as logged metrics, with
    its events detected: new or empty folders only (`grokscope.store.guard` rules)."""
    from grokscope.config import dump_config, parse_config
    from grokscope.experiment import finalize
    from grokscope.store import RunStore
    from grokscope.store.lock import DirLock
    from grokscope.store.metrics import PROBE_SPLIT, SCHEMA

    out = Path(out)
    store = RunStore(out)
    store.check_location()
    if store.has_config():
        raise ConfigError(f"import: {out} already holds a run; give a new folder (--out)")
    last = max(int(c["steps"][-1]) for c in curves)
    config = parse_config({
        "name": out.resolve().name, "out_dir": str(out.resolve().parent),
        "cohort": {"members": len(curves)},
        "train": {"steps": max(int(budget or last), last, 1),
                  "checkpoint_every": max(int(budget or last), last, 1)},
        "detect": detect or {},
        "source": {**source, "runs": [str(c["name"]) for c in curves],
                   "tags": [list(map(str, c["tags"])) for c in curves]}})
    with DirLock(out, "run"):
        store.claim()
        store.write_config(dump_config(config))
        rows: dict[str, list[Any]] = {k: [] for k in (*SCHEMA.names, "weight_norm/total")}
        for member, c in enumerate(curves):
            for k, step in enumerate(c["steps"].tolist()):
                for split in ("train", "test"):
                    rows["step"].append(step)
                    rows["member"].append(member)
                    rows["split"].append(split)
                    rows["loss"].append(float(c[f"{split}_loss"][k]))
                    rows["accuracy"].append(float(c[f"{split}_acc"][k]))
                    rows["weight_norm/total"].append(None)
                if math.isfinite(float(c["weight_norm"][k])):
                    rows["step"].append(step)
                    rows["member"].append(member)
                    rows["split"].append(PROBE_SPLIT)
                    rows["loss"].append(None)
                    rows["accuracy"].append(None)
                    rows["weight_norm/total"].append(float(c["weight_norm"][k]))
        if all(v is None for v in rows["weight_norm/total"]):
            del rows["weight_norm/total"]
        table = pa.table({k: pa.array(v, type=SCHEMA.field(k).type if k in SCHEMA.names
                                      else pa.float64()) for k, v in rows.items()})
        store.append_metrics(table, last)
        finalize(store, config)
    return out


def import_run(path: str | Path, fmt: str, out: str | Path, mapping: dict[str, str] | None = None,
               budget: int | None = None) -> Path:
    """Read a run logged by `fmt` (tensorboard, wandb, csv) at `path` into the run directory
    `out`; returns it."""
    if fmt not in READERS:
        raise ConfigError(f"--from: unknown format {fmt!r} (allowed: {', '.join(FORMATS)})")
    path = Path(path)
    if not path.exists():
        raise ConfigError(f"import: no such file or folder {str(path)!r}")
    runs = READERS[fmt](path)
    curves = curves_of(runs, mapping or {})
    return save_run(out, curves, {"format": fmt, "path": str(path.resolve())}, budget)
