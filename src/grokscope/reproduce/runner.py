"""Run a reproduction suite: each file trains one cohort, then writes its figure and CSVs."""

from __future__ import annotations

import csv
import io
import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import yaml

from grokscope.config import ExperimentConfig, paths
from grokscope.errors import ConfigError
from grokscope.report.reproduction import plot_settings, plot_shift, plot_steps_vs
from grokscope.reproduce.expect import Check, check
from grokscope.reproduce.spec import (
    ReproductionSpec,
    expand,
    load_spec,
    source_config,
    with_source,
)
from grokscope.store import RunStore, guard
from grokscope.store.atomic import write_text_atomic
from grokscope.store.metrics import renumber, split_matrix
from grokscope.sweep.pack import balanced_chunks
from grokscope.sweep.runners import Job, make_runner
from grokscope.training.device import members_per_cohort
from grokscope.training.members import resolve_members, select_members

REPO_EXPERIMENTS = Path(__file__).resolve().parents[3] / "experiments"


@dataclass
class ReproductionResult:
    name: str
    title: str
    claim: str
    path: Path  # run directory; figure.png, events.csv and summary.csv live in it
    summary: list[dict[str, Any]]
    seconds: float
    rows: list[dict[str, Any]]  # one per member, as in events.csv
    checks: list[Check] = field(default_factory=list)  # expectations, measured

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def figure(self) -> Path:
        return self.path / "figure.png"


def find_suite(name: str) -> list[Path]:
    """The reproduction files of a suite: a YAML file, a folder, or `experiments/<name>/`
    (in the working directory, else in the repository grokscope was installed from)."""
    for candidate in (Path(name), Path("experiments") / name, REPO_EXPERIMENTS / name):
        if candidate.is_file():
            return [candidate]
        if candidate.is_dir():
            files = sorted(candidate.glob("*.yaml"))
            if files:
                return files
    known = shipped_suites()
    raise ConfigError(f"reproduce: no suite {name!r} (allowed: {', '.join(known) or 'none'}, "
                      "or a path to a reproduction YAML or folder)")


def shipped_suites() -> list[str]:
    """Folders of the repository's experiments/ that hold reproduction files (a `settings`
    list), not plain experiment configs."""
    if not REPO_EXPERIMENTS.is_dir():
        return []
    return sorted(p.name for p in REPO_EXPERIMENTS.iterdir() if p.is_dir() and any(
        "settings" in (yaml.safe_load(f.read_text()) or {}) for f in p.glob("*.yaml")))


def plan_parts(config: ExperimentConfig, max_members: int) -> list[list[int]]:
    """Pack the members into cohorts: same batch size together (a smaller batch padded to a
    larger one is wasted work), at most `max_members` each, sizes balanced."""
    batch = [spec.batch_size for spec in resolve_members(config)]
    return balanced_chunks(list(range(len(batch))), lambda index: batch[index], max_members)


def run_reproduction(path: Path, quick: bool = False, out_root: str | Path = "runs/reproduce",
                     progress: bool = True, overwrite: bool = False,
                     max_members: int | None = None,
                     overrides: list[str] | None = None, runner: str = "local",
                     address: str | None = None, num_cpus: float = 1.0,
                     num_gpus: float = 0.0) -> ReproductionResult:
    """Train (or resume) the cohorts of one reproduction file, then redraw its figure and
    write `events.csv` (one row per member) and `summary.csv` (one row per setting).

    The members are packed into cohorts by `plan_parts` (the sweeps' packer); each cohort is
    a run directory `part-K` (resumable on its own) under the reproduction's directory, and
    trains on the sweeps' runners: here (`local`) or one Ray task per part (`ray`).
    """
    # one straight line (plan, train on the runner, collect, write, draw): the steps share
    # the parts and their member indices, so they stay together
    spec = load_spec(path)
    name = path.stem + ("-quick" if quick else "")
    run_dir = Path(out_root) / path.parent.name / name
    guard.claim(run_dir, "reproduction", "--out")
    runner_ = make_runner(runner, address, num_cpus, num_gpus)
    source = source_config(spec, quick, str(run_dir / "source"), overrides)
    if source is not None:  # trained first: the settings read its weights
        failed = runner_.run([{"folder": str(run_dir / "source"), "cohort": "source",
                               "config": source.model_dump(mode="json"), "overwrite": overwrite,
                               "progress": progress and runner == "local"}], lambda j, r: None)
        if failed:
            raise ConfigError(f"reproduce: the source run failed ({failed[0][1]}); run it "
                              "again to resume it")
        spec = with_source(spec, str(run_dir / "source"))
    cohorts, members = expand(spec, quick, name=name, out_dir=str(run_dir), overrides=overrides)
    parts = [(config, local, [indices[j] for j in local])  # local: positions in the config
             for config, indices in cohorts
             for local in plan_parts(config, max_members or members_per_cohort(config))]
    jobs: list[Job] = [{"folder": str(run_dir / f"part-{k}"), "cohort": f"part-{k}",
             "config": select_members(config, local).model_copy(update={"name": f"part-{k}"})
             .model_dump(mode="json"), "overwrite": overwrite,
             "progress": progress and runner == "local"}
            for k, (config, local, _) in enumerate(parts)]

    def done(job: Job, result: dict[str, Any]) -> None:
        if len(parts) > 1:
            print(f"  {job['cohort']} of {len(parts)}: {len(result['verdicts'])} members, "
                  f"{result['seconds']:.1f} s", flush=True)

    failed = runner_.run(jobs, done)
    if failed:
        raise ConfigError(f"reproduce: {len(failed)} of {len(parts)} parts failed ("
                          + "; ".join(f"{c}: {why}" for c, why in failed[:3])
                          + "); the others are stored: run it again to resume them")
    tables, seconds = [], 0.0
    events: list[dict[str, Any]] = [{} for _ in members]
    for job, (_, _, indices) in zip(jobs, parts, strict=True):
        store = RunStore(job["folder"])
        stored = store.read_events() or {}
        seconds += stored.get("train_seconds") or 0.0
        table = store.load_metrics()
        tables.append(renumber(table, indices))
        for position, index in enumerate(indices):
            events[index] = {**stored["members"][position], "member": index}
        # which member of the reproduction each of the part's members is (for its report)
        write_text_atomic(Path(job["folder"]) / "members.json", json.dumps(
            [{"index": i, "setting": members[i]["setting"], "label": members[i]["label"],
              "seed": members[i]["seed"]} for i in indices], indent=1) + "\n")
    table = pa.concat_tables(tables, promote_options="default")
    rows = member_rows(table, members, events)
    _write_csv(run_dir / "events.csv", rows)
    summary = summarize(rows)
    _write_csv(run_dir / "summary.csv", summary)
    checks = [check(e, rows, table) for e in spec.expectations(quick)]
    if checks:
        _write_csv(run_dir / "checks.csv", [c.row() for c in checks])
    title = (spec.quick.title or spec.title + " — quick") if quick else spec.title
    write_text_atomic(run_dir / "reproduction.json", json.dumps(
        {"name": name, "title": title, "claim": spec.claim, "quick": quick, "spec": str(path),
         "parts": len(parts), "train_seconds": seconds}, indent=1) + "\n")
    plot_settings(table, members, events, run_dir / "figure.png", title=title,
                  loss=spec.figure.loss, log_x=spec.figure.log_x)
    if spec.figure.vs:
        values = setting_values(spec, cohorts, members, spec.figure.vs)
        plot_steps_vs(rows, values, spec.figure.vs, run_dir / "steps.png", title=title)
    return ReproductionResult(name, spec.title, spec.claim, run_dir, summary, seconds, rows,
                              checks)


def setting_values(spec: ReproductionSpec, cohorts: list[tuple[ExperimentConfig, list[int]]],
                   members: list[dict], key: str) -> list[Any]:
    """Each member's value of a setting key: its setting's, else its cohort config's."""
    values: list[Any] = [None] * len(members)
    for config, indices in cohorts:
        data = config.model_dump(mode="json")
        for position, index in enumerate(indices):
            setting = spec.settings[members[index]["setting"]]
            if key in setting:
                values[index] = setting[key]
                continue
            node = paths.get(data, key)
            values[index] = node[position] if isinstance(node, list) else node
    return values


def write_shift_figure(results: list[ReproductionResult], path: Path) -> Path | None:
    """The suite-level figure: measured shift vs final accuracy, every member of every
    figure whose task has subclasses."""
    rows = {r.name: r.rows for r in results if any(row.get("shift_mmd") for row in r.rows)}
    return plot_shift(rows, path) if rows else None


EVENT_KEYS = ("verdict", "alpha0", "alpha1", "delay", "delta_S", "delta_T", "support",
              "final_train_acc", "final_test_acc", "shift_tv", "shift_mmd", "dd_shape",
              "dd_first_min_step", "dd_first_min", "dd_peak_step", "dd_peak", "dd_second_step")
LOSS_SPLITS = ("train", "test")


def member_rows(table: Any, members: list[dict], events: list[dict]) -> list[dict[str, Any]]:
    """Per member: its setting, seed, split sizes, grokking events, final accuracy on the
    under-sampled and other subclasses, and the measured train/test shift."""
    splits = set(table["split"].unique().to_pylist())
    finals = {}
    for split in ("test/undersampled", "test/others"):
        if split in splits:
            finals[split] = split_matrix(table, split)[1][-1]
    losses = {split: split_matrix(table, split, "loss")[1][-1] for split in LOSS_SPLITS}
    rows = []
    for i, (member, ev) in enumerate(zip(members, events, strict=True)):
        row = {"member": i, "setting": member["setting"], "label": member["label"],
               "seed": member["seed"], "n_train": ev.get("n_train"), "f": ev.get("f")}
        row |= {k: ev.get(k) for k in EVENT_KEYS}
        # late gain: test accuracy won after memorization, whether or not it reached sigma_E
        if ev.get("sigma_S") is not None and ev.get("final_test_acc") is not None:
            row["late_gain"] = ev["final_test_acc"] - ev["sigma_S"]
        else:
            row["late_gain"] = None
        for split, values in losses.items():
            row[f"final_{split}_loss"] = float(values[i])
        for split, values in finals.items():
            row[f"final_{split.split('/')[1]}_acc"] = float(values[i])
        rows.append(row)
    return rows


def summarize(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per setting: grokked count, median alpha0/alpha1 of grokked members, mean
    intensity, final accuracies and shift (means over seeds)."""
    out = []
    for setting in dict.fromkeys(r["setting"] for r in rows):
        group = [r for r in rows if r["setting"] == setting]
        grokked = [r for r in group if r["verdict"] == "grokked"]

        def mean(key: str, of: list[dict] = group) -> float | None:
            values = [r[key] for r in of if r.get(key) is not None]
            return float(np.mean(values)) if values else None

        def median(key: str, of: list[dict] = grokked) -> float | None:
            values = [r[key] for r in of if r.get(key) is not None]
            return float(statistics.median(values)) if values else None

        verdicts: dict[str, int] = {}
        for r in group:
            verdicts[r["verdict"]] = verdicts.get(r["verdict"], 0) + 1
        out.append({
            "setting": setting, "label": group[0]["label"], "members": len(group),
            "grokked": len(grokked),
            "verdicts": "; ".join(f"{k} {v}" for k, v in verdicts.items()),
            "alpha0_median": median("alpha0", group), "alpha1_median": median("alpha1"),
            "delta_S_mean": mean("delta_S", grokked) if grokked else None,
            "final_test_acc": mean("final_test_acc"), "late_gain": mean("late_gain"),
            "final_undersampled_acc": mean("final_undersampled_acc"),
            "final_others_acc": mean("final_others_acc"),
            "shift_tv": mean("shift_tv"), "shift_mmd": mean("shift_mmd"),
        })
    return out


def _write_csv(path: Path, rows: list[dict[str, Any]]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    write_text_atomic(path, text.getvalue())
