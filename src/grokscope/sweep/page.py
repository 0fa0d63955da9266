"""What the HTML report shows of a sweep: its runs, the phase diagram, the scaling fit.

Cells of the phase diagram list the runs behind them and draw their accuracy curves; each
run links to the report of the cohort that trained it (written beside it, `cohorts=True`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grokscope.errors import ConfigError
from grokscope.experiment import load_run
from grokscope.report.downsample import series
from grokscope.report.html import write_page
from grokscope.report.run_page import run_payload
from grokscope.store import RunStore
from grokscope.store.metrics import split_matrix
from grokscope.sweep.phase import COLORS, fit_power_law, phase_cells
from grokscope.sweep.store import SweepStore
from grokscope.yamlio import read_yaml

RUN_BUCKETS = 60  # points per run curve: a sweep draws hundreds of runs at once
MAX_BY = 8  # scaling: one series per value of the second swept key, when it has this few


def _swept(frame: pd.DataFrame) -> list[str]:
    """The swept keys: the columns between `cohort` and `seed` (sweep.store.collect)."""
    columns = list(frame.columns)
    return columns[columns.index("cohort") + 1: columns.index("seed")]


def _numeric(frame: pd.DataFrame, key: str) -> bool:
    return bool(pd.to_numeric(frame[key], errors="coerce").notna().all())


def phase(frame: pd.DataFrame, x: str, y: str) -> dict[str, Any]:
    """The phase diagram's cells with the run ids behind each."""
    cells = phase_cells(frame, x, y)
    xs, ys = sorted(frame[x].unique()), sorted(frame[y].unique())
    out = []
    for _, cell in cells.iterrows():
        runs = frame[(frame[x] == cell[x]) & (frame[y] == cell[y])]["run"].tolist()
        counts = {p: int(cell[p]) for p in COLORS}
        out.append({"xi": xs.index(cell[x]), "yi": ys.index(cell[y]), "phase": cell["phase"],
                    "share": counts[cell["phase"]] / max(1, int(cell["runs"])),
                    "counts": counts, "runs": runs})
    return {"x": x, "y": y, "xs": xs, "ys": ys, "cells": out, "colors": COLORS}


def scaling(frame: pd.DataFrame, x: str, by: str | None,
            metric: str = "alpha1") -> dict[str, Any] | None:
    """Time to generalize vs a swept key, per value of `by`, with its power-law fit."""
    values = pd.to_numeric(frame[metric], errors="coerce")
    if metric == "alpha1":  # alpha1 of runs that generalized (grokked or without delay)
        values = values.where(frame["verdict"].isin(["grokked", "generalized-without-delay"]))
    data = pd.DataFrame({"x": frame[x].astype(float), "t": values, "run": frame["run"],
                         "by": frame[by] if by else None}).dropna(subset=["t"])
    if data.empty:
        return None
    fits = []
    for value, group in ([(None, data)] if by is None else data.groupby("by", sort=True)):
        c: float | None
        b: float | None
        try:
            c, b = fit_power_law(group["x"].to_numpy(), group["t"].to_numpy())
        except ConfigError:
            c = b = None
        fits.append({"by": value, "c": c, "b": b})
    return {"x": x, "by": by, "metric": metric, "total": len(frame),
            "logx": bool((data["x"] > 0).all()),
            "points": [{"x": float(r.x), "t": float(r.t), "run": r.run,
                        "by": None if by is None else r.by} for r in data.itertuples()],
            "fits": fits}


def run_curves(listed: list[tuple[Path, list[dict]]]) -> tuple[dict[str, Any], dict[str, str],
                                                               list[dict]]:
    """Per run id: its downsampled accuracy curves; the link to its cohort's report; and
    what each cohort's events say (device, wall-clock, versions)."""
    curves: dict[str, Any] = {}
    links: dict[str, str] = {}
    cohorts = []
    for folder, members in listed:
        run = RunStore(folder)
        events = run.read_events() or {}
        cohorts.append(events)
        if not (run.metrics_path.is_file() or run.parts_dir.is_dir()):
            continue
        table = run.load_metrics()
        for split in ("train", "test"):
            steps, matrix = split_matrix(table, split)
            for index, member in enumerate(members):
                if index < matrix.shape[1]:
                    curves.setdefault(member["id"], {})[f"{split}_acc"] = series(
                        steps, matrix[:, index], RUN_BUCKETS)
        for index, member in enumerate(members):
            links.setdefault(member["id"], f"cohorts/{folder.name}/report.html#m={index}")
    return curves, links, cohorts


def sweep_payload(path: Path) -> dict[str, Any]:
    """Everything the page shows of a sweep directory, finished or still running."""
    store = SweepStore(path)
    try:
        frame = store.collect().to_pandas()
    except ConfigError:  # nothing finished yet
        frame = pd.DataFrame(columns=["run", "cohort", "seed", "verdict", "alpha1"])
    listed = store.cohorts()
    curves, links, cohorts = run_curves(listed)
    swept = _swept(frame)
    numeric = [k for k in swept if _numeric(frame, k)] if len(frame) else []
    planned = sum(len(m) for _, m in listed)
    unfinished = sum(1 for e in cohorts if not e.get("finished"))
    spec = read_yaml(store.spec_path, "sweep") if store.spec_path.is_file() else {}
    spec_text = store.spec_path.read_text() if store.spec_path.is_file() else ""
    versions: dict[str, str] = next((e["versions"] for e in cohorts if e.get("versions")), {})
    seconds = [e.get("train_seconds") for e in cohorts if e.get("train_seconds")]
    spec = spec if isinstance(spec, dict) else {}
    title = f"sweep {spec.get('name') or path.name}" + (f": {spec['title']}"
                                                         if spec.get("title") else "")
    frame = frame.replace({np.nan: None})
    by = numeric[1] if len(numeric) > 1 and frame[numeric[1]].nunique() <= MAX_BY else None
    return {
        "kind": "sweep", "title": title,
        "header": {"path": str(path), "runs": planned, "finished": len(frame),
                   "cohorts": len(cohorts), "swept": swept,
                   "seeds": int(frame["seed"].nunique()) if len(frame) else None,
                   "train_seconds": sum(seconds) if seconds else None,
                   "devices": ", ".join(sorted({str(e.get("device")) for e in cohorts
                                                if e.get("device")})),
                   "torch": versions.get("torch"), "grokscope": versions.get("grokscope"),
                   "spec_yaml": spec_text},
        "live": {"message": f"{unfinished} of {len(cohorts)} cohorts are not finished yet: the "
                            "tables and figures hold the finished runs only."}
        if unfinished else None if cohorts else {
            "message": "No cohort of this sweep has started yet (run `grokscope sweep`)."},
        "runs": frame.to_dict("records"), "columns": list(frame.columns),
        "phase": phase(frame, numeric[0], numeric[1]) if len(numeric) >= 2 else None,
        "scaling": scaling(frame, numeric[0], by) if numeric else None,
        "curves": curves, "links": links,
    }


def write_cohort_reports(path: Path) -> list[Path]:
    """The report of every cohort of a sweep, beside its run files."""
    out = []
    for folder, _ in SweepStore(path).cohorts():
        if RunStore(folder).has_config():
            config, store = load_run(folder)
            out.append(write_page(run_payload(store, config), folder / "report.html"))
    return out
