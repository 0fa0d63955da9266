"""Run a sweep: expand, skip what is finished, pack the rest into cohorts, train them on a
runner, and collect the table."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from grokscope.config import identity
from grokscope.errors import ConfigError
from grokscope.experiment import load_run, run_experiment
from grokscope.store import guard
from grokscope.store.atomic import write_atomic
from grokscope.store.lock import DirLock
from grokscope.sweep.pack import CohortPlan, cohort_config, pack
from grokscope.sweep.runners import Job, make_runner
from grokscope.sweep.spec import Run, expand_runs, load_sweep_spec
from grokscope.sweep.store import SweepStore, load_sweep
from grokscope.training.cohort import Cohort
from grokscope.training.device import members_per_cohort


@dataclass
class SweepPlan:
    runs: list[Run]
    finished: list[Run]
    cohorts: list[CohortPlan]  # what is left to train (resumed ones first)
    resumed: list[str] = field(default_factory=list)  # cohort ids with a checkpoint
    redetect: list[Path] = field(default_factory=list)  # finished cohorts, other thresholds

    @property
    def member_steps(self) -> int:
        return sum(len(c.runs) * c.config.train.steps for c in self.cohorts)


def plan_sweep(spec_path: str | Path, sweep_dir: str | Path | None = None,
               max_members: int | None = None) -> tuple[SweepPlan, SweepStore]:
    """Which runs are finished, which unfinished cohorts resume as they are, and how the
    remaining runs pack into new cohorts."""
    spec, base = load_sweep_spec(spec_path)
    store = SweepStore(sweep_dir or Path("runs") / "sweeps" / spec.name)
    runs = expand_runs(spec, base, out_dir=str(store.path))
    limit = max_members or members_per_cohort(runs[0].config)
    done = store.finished_runs()
    finished = [r for r in runs if r.id in done]
    wanted = identity.analysis_view(runs[0].config)  # detect cannot be swept: one for all
    redetect = sorted({folder for folder, _ in done.values()
                       if identity.analysis_view(load_run(folder)[0]) != wanted})
    pending = {r.id: r for r in runs if r.id not in done}
    resumable = []
    for folder, members in store.cohorts():  # an unfinished cohort resumes if all its runs
        ids = [m["id"] for m in members]  # are still wanted and none is claimed elsewhere
        if (folder / "checkpoint.pt").is_file() and ids and all(i in pending for i in ids):
            chunk = [pending.pop(i) for i in ids]
            ident = folder.name.removeprefix("cohort-")
            resumable.append(CohortPlan(ident, cohort_config(chunk, folder.name), chunk))
    fresh = pack(list(pending.values()), limit) if pending else []
    return SweepPlan(runs, finished, resumable + fresh, [c.id for c in resumable],
                     redetect), store


def _job(store: SweepStore, plan: CohortPlan) -> Job:
    members = [{"id": r.id, "values": dict(r.values), "seed": r.seed} for r in plan.runs]
    return {"sweep_dir": str(store.path), "cohort": plan.id,
            "config": plan.config.model_dump(mode="json"), "members": members}


def estimate_seconds(plan: SweepPlan, repeats: int = 10) -> float:
    """Wall-clock estimate on this machine: per distinct cohort shape, time a few steps of
    its largest cohort (evaluation amortized over log_every) and scale by steps and size."""
    measured: dict[str, float] = {}
    total = 0.0
    for cohort in sorted(plan.cohorts, key=lambda c: -len(c.runs)):
        shape = cohort.config.model_dump_json(include={"task", "model", "train"})
        if shape not in measured:
            engine = Cohort(cohort.config)
            for _ in range(2):  # warm-up: allocator, lazy init
                engine.step()
            start = time.perf_counter()
            for _ in range(repeats):
                engine.step()
            step = (time.perf_counter() - start) / repeats
            start = time.perf_counter()
            engine.evaluate()
            step += (time.perf_counter() - start) / cohort.config.train.log_every
            measured[shape] = step / len(cohort.runs)  # per member-step
        total += measured[shape] * len(cohort.runs) * cohort.config.train.steps
    return total


def run_sweep(spec_path: str | Path, sweep_dir: str | Path | None = None,
              runner: str = "local", address: str | None = None,
              max_members: int | None = None, num_cpus: float = 1.0, num_gpus: float = 0.0,
              progress: bool = True, console: Console | None = None,
              callbacks: Sequence[Any] = ()) -> tuple[SweepPlan, Any]:
    """Train every unfinished cohort of the sweep on the runner; returns the plan and the
    sweep table (pandas DataFrame). `callbacks` watch every cohort's training (local runner
    only)."""
    plan, store = plan_sweep(spec_path, sweep_dir, max_members)
    guard.claim(store.path, "sweep", "--out" if sweep_dir else "sweep")
    with DirLock(store.path, "sweep"):
        write_atomic(store.spec_path, lambda handle: handle.write(Path(spec_path).read_bytes()))
        store.relabel(plan.runs)
        chosen = make_runner(runner, address, num_cpus, num_gpus, callbacks)
        return plan, _train(plan, store, chosen, progress, console)


def _train(plan: SweepPlan, store: SweepStore, chosen: Any, progress: bool,
           console: Console | None) -> Any:
    """Train the plan's cohorts (holding the sweep's lock); the sweep table."""
    detect = plan.runs[0].config.detect
    for folder in plan.redetect:  # thresholds changed since they finished: no retraining
        config = load_run(folder)[0]
        run_experiment(config.model_copy(update={"detect": detect}), folder, progress=False)
    console = console or Console(stderr=True)
    bar = Progress(TextColumn("[bold]sweep"), BarColumn(), TextColumn("{task.completed}/"
                   "{task.total} cohorts"), TextColumn("{task.fields[info]}"),
                   TimeElapsedColumn(), console=console,
                   disable=not (progress and console.is_terminal))
    total_runs = len(plan.runs)
    state = {"runs": len(plan.finished)}

    def on_done(job: Job, result: dict[str, Any]) -> None:
        state["runs"] += len(job["members"])
        info = f"{state['runs']}/{total_runs} runs"
        bar.update(task, advance=1, info=info)
        if progress and not console.is_terminal:
            console.print(f"cohort {job['cohort']}: {len(job['members'])} runs in "
                          f"{result['seconds']:.1f} s ({info})", highlight=False)

    with bar:
        task = bar.add_task("sweep", total=len(plan.cohorts), info="")
        failed = chosen.run([_job(store, c) for c in plan.cohorts], on_done)
    if failed:
        raise ConfigError(f"sweep: {len(failed)} of {len(plan.cohorts)} cohorts failed ("
                          + "; ".join(f"cohort {c}: {why}" for c, why in failed[:3])
                          + "); every other cohort is stored: run the sweep again to resume them")
    return load_sweep(store.path)
