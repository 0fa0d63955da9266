"""Runners: where the cohorts of a sweep train. One interface, `run(jobs, on_done)`.

- `local`: in this process, one cohort after another.
- `ray`: one Ray task per cohort on an existing cluster (`address`) or a local one; each
  worker trains its cohort into the sweep directory (a shared filesystem on a real cluster).

A job is plain data (the cohort's config as JSON, its members, the sweep directory), so it
pickles to any worker; `train_cohort` is the whole worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from grokscope.errors import ConfigError
from grokscope.store import RunStore

# a sweep's: {"sweep_dir", "cohort", "config", "members"}; a reproduction's: {"folder",
# "cohort", "config", "overwrite", "progress"} (its run directory named outright)
Job = dict[str, Any]
OnDone = Callable[[Job, dict[str, Any]], None]
Failures = list[tuple[str, str]]  # (cohort id, one-line reason)


def train_cohort(job: Job, callbacks: Sequence[Any] = ()) -> dict[str, Any]:
    """Train (or resume, or re-read) one cohort of a sweep or a reproduction; its verdicts
    and seconds. `callbacks` (local runner only) watch its training."""
    from grokscope.config import parse_config
    from grokscope.experiment import RunConflict, run_experiment
    from grokscope.sweep.store import SweepStore

    start = time.perf_counter()
    sweep = SweepStore(job["sweep_dir"]) if "sweep_dir" in job else None
    folder = sweep.cohort_dir(job["cohort"]) if sweep else Path(job["folder"])
    try:
        if sweep is not None:
            run = RunStore(folder)
            run.check_location()
            run.claim()  # before members.json: the folder is a run from its first file on
            sweep.write_members(job["cohort"], job["members"])
        result = run_experiment(parse_config(job["config"]), folder,
                                overwrite=job.get("overwrite", False),
                                progress=job.get("progress", False), callbacks=callbacks)
    except RunConflict:
        raise ConfigError(f"sweep: {folder} holds a cohort trained with other settings (an "
                          "older grokscope?); move it away to retrain it, or give the sweep "
                          "another --out") from None
    return {"cohort": job["cohort"], "verdicts": result.verdicts,
            "seconds": time.perf_counter() - start}


class LocalRunner:
    """In this process, one cohort after another; `callbacks` see each cohort's training."""

    name = "local"

    def __init__(self, callbacks: Sequence[Any] = ()) -> None:
        self.callbacks = list(callbacks)

    def run(self, jobs: list[Job], on_done: OnDone) -> Failures:
        for job in jobs:
            on_done(job, train_cohort(job, self.callbacks))
        return []


class RayRunner:
    """Ray tasks with `num_cpus` / `num_gpus` each. Without an address, a local cluster is
    started (and shut down after); `auto` or HOST:PORT joins a running one."""

    name = "ray"

    def __init__(self, address: str | None = None, num_cpus: float = 1.0,
                 num_gpus: float = 0.0, max_retries: int = 2) -> None:
        self.address, self.num_cpus, self.num_gpus = address, num_cpus, num_gpus
        self.max_retries = max_retries

    def run(self, jobs: list[Job], on_done: OnDone) -> Failures:
        """A cohort whose worker dies (killed, out of memory) is retried up to `max_retries`
        times, resuming from its checkpoint; one that still fails is reported, one line, and
        the others go on."""
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
            self._check_gpus(ray)
            task = ray.remote(num_cpus=self.num_cpus, num_gpus=self.num_gpus,
                              max_retries=self.max_retries)(train_cohort)
            pending = {task.remote(job): job for job in jobs}
            failed: Failures = []
            while pending:
                done, _ = ray.wait(list(pending), num_returns=1)
                for ref in done:
                    job = pending.pop(ref)
                    try:
                        result = ray.get(ref)
                    except ray.exceptions.RayError as exc:
                        failed.append((job["cohort"], _reason(exc)))
                        continue
                    on_done(job, result)
            return failed
        finally:
            if started:
                ray.shutdown()

    def _check_gpus(self, ray: Any) -> None:
        """Tasks asking for more GPUs than the cluster has would wait forever: refused. With
        `num_gpus` 1, a local cluster over a machine's GPUs trains one cohort per GPU (Ray
        sets each worker's CUDA_VISIBLE_DEVICES, so `train.device: auto` is its own GPU)."""
        if self.num_gpus <= 0:
            return
        have = ray.cluster_resources().get("GPU", 0)
        if have < self.num_gpus:
            raise ConfigError(f"--num-gpus {self.num_gpus:g}: the Ray cluster has {have:g} "
                              "GPU(s) (allowed: 0, or at most the cluster's GPUs per cohort)")


def _reason(error: Exception) -> str:
    """One line for a failed Ray task: the user's error if it raised one, else what Ray says
    happened to the worker."""
    cause = getattr(error, "cause", None)
    if isinstance(cause, ConfigError):
        return str(cause)
    text = str(cause or error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:160] if text else ''}"


def make_runner(name: str, address: str | None = None, num_cpus: float = 1.0,
                num_gpus: float = 0.0, callbacks: Sequence[Any] = ()) -> LocalRunner | RayRunner:
    if name == "local":
        if address:
            raise ConfigError("--address: only for --runner ray")
        return LocalRunner(callbacks)
    if callbacks:
        raise ConfigError("callbacks: only with the local runner (a Ray worker cannot run "
                          "this process's objects; allowed runners: local)")
    if name == "ray":
        return RayRunner(address, num_cpus, num_gpus)
    raise ConfigError(f"--runner: unknown runner {name!r} (allowed: local, ray)")
