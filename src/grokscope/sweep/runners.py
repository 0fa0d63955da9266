"""Runners: where the cohorts of a sweep train. One interface, `run(jobs, on_done)`.

- `local`: in this process, one cohort after another.
- `ray`: one Ray task per cohort on an existing cluster (`address`) or a local one; each
  worker trains its cohort into the sweep directory (a shared filesystem on a real cluster).

A job is plain data (the cohort's config as JSON, its members, the sweep directory), so it
pickles to any worker; `train_cohort` is the whole worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from grokscope.errors import ConfigError

Job = dict[str, Any]  # {"sweep_dir", "cohort", "config", "members"}
OnDone = Callable[[Job, dict[str, Any]], None]


def train_cohort(job: Job) -> dict[str, Any]:
    """Train (or resume, or re-read) one cohort of a sweep; its verdicts and seconds."""
    from grokscope.config import parse_config
    from grokscope.experiment import run_experiment
    from grokscope.sweep.store import SweepStore

    store = SweepStore(job["sweep_dir"])
    store.write_members(job["cohort"], job["members"])
    start = time.perf_counter()
    result = run_experiment(parse_config(job["config"]), store.cohort_dir(job["cohort"]),
                            progress=False)
    return {"cohort": job["cohort"], "verdicts": result.verdicts,
            "seconds": time.perf_counter() - start}


class LocalRunner:
    name = "local"

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        for job in jobs:
            on_done(job, train_cohort(job))


class RayRunner:
    """Ray tasks with `num_cpus` / `num_gpus` each. Without an address, a local cluster is
    started (and shut down after); `auto` or HOST:PORT joins a running one."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: float = 1.0,
                 num_gpus: float = 0.0) -> None:
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus

    def run(self, jobs: list[Job], on_done: OnDone) -> None:
        try:
            import ray
        except ImportError:
            raise ConfigError("--runner ray: Ray is not installed (pip install "
                              "'grokscope[ray]'; allowed runners: local, ray)") from None
        started = not ray.is_initialized()
        if started:
            ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        try:
            task = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                              max_retries=0)(train_cohort)
            pending = {task.remote(job): job for job in jobs}
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    on_done(pending.pop(ref), ray.get(ref))
        finally:
            if started:
                ray.shutdown()


def make_runner(name: str, address: str | None = None, num_cpus: float = 1.0,
                num_gpus: float = 0.0) -> LocalRunner | RayRunner:
    if name == "local":
        if address:
            raise ConfigError("--address: only for --runner ray")
        return LocalRunner()
    if name == "ray":
        return RayRunner(address, num_cpus, num_gpus)
    raise ConfigError(f"--runner: unknown runner {name!r} (allowed: local, ray)")
