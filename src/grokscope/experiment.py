"""Run an experiment end to end: train the cohort, detect grokking, store and plot the results.

This is the Python API behind `grokscope run`; the CLI only parses arguments and prints.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from grokscope.config import ExperimentConfig, dump_config, identity, parse_config
from grokscope.config.describe import describe
from grokscope.detection import DETECTOR_VERSION, detect
from grokscope.detection.double_descent import descent_shape
from grokscope.detection.stopping import StoppingCallback
from grokscope.errors import ConfigError
from grokscope.exports import ExportCallback, check_folder, export_run, members_of, take_folder
from grokscope.probes.callback import ProbeCallback
from grokscope.probes.spikes import spike_summary
from grokscope.report import plot_curves
from grokscope.report.progress import RunProgress
from grokscope.store import RunStore, curves, guard
from grokscope.store.lock import DirLock
from grokscope.training.callbacks import Callback
from grokscope.training.cohort import Cohort
from grokscope.training.keep_weights import KeepWeights, missing_weights
from grokscope.training.loop import train
from grokscope.training.members import resolve_members
from grokscope.yamlio import parse_yaml


@dataclass
class RunResult:
    path: Path
    events: dict[str, Any]
    seconds: float  # training wall-clock of this invocation

    @property
    def verdicts(self) -> list[str]:
        return [m["verdict"] for m in self.events["members"]]


class RunConflict(ConfigError):
    """The run directory holds a run trained with other settings."""


def _prepare(store: RunStore, config: ExperimentConfig, overwrite: bool) -> bool:
    """Create or check the run directory (holding its lock); True when the stored events must
    be recomputed."""
    if overwrite:
        store.remove()
    store.claim()
    store.clean_temp()
    config_text, trained = dump_config(config), store.has_training()
    if not store.has_config() and trained:
        raise ConfigError(f"run: {store.path} holds training files but no config.yaml, so "
                          "they cannot be checked against this config; restore config.yaml, "
                          "or pass --overwrite to start again")
    if not trained:
        store.write_config(config_text)  # nothing trained yet: a corrected config just goes in
        return False
    stored_text = store.read_config()
    stored = _parse_stored(stored_text, store.config_path)
    if identity.training_view(stored) != identity.training_view(config):
        raise RunConflict(
            f"run: {store.path} holds a run with a different config; pass --overwrite to "
            f"replace it, or give this run another name (--set name=...)"
        )
    if stored_text != config_text:  # only the analysis settings or the location
        store.write_config(config_text)
        return identity.analysis_view(stored) != identity.analysis_view(config)
    return False


def run_experiment(config: ExperimentConfig, run_dir: str | Path | None = None,
                   overwrite: bool = False, progress: bool = True,
                   callbacks: Sequence[Callback] = ()) -> RunResult:
    """Train (or resume, or just re-read) the run of `config` and return its events.

    The run lives in `run_dir` (default `<out_dir>/<name>`). Same config and a checkpoint:
    resume. Finished: nothing is trained again. The run's lock is held throughout, so a
    second process on the same run fails at once with a one-line error. `callbacks`
    (`grokscope.training.callbacks.Callback`) see every step of the training, after the
    run's own (metric sink, probes, progress); see docs/extending.md.
    """
    if config.source is not None:
        raise ConfigError(f"run: this config describes curves imported from "
                          f"{config.source.format} ({config.source.path}); an imported run "
                          "cannot be trained (show, report, export and stopping read it)")
    store = RunStore(run_dir or Path(config.out_dir) / config.name)
    store.check_location()
    for spec in config.export:  # refused before the run directory is touched
        check_folder(store, spec)
    with DirLock(store.path, "run"):
        redetect = _prepare(store, config, overwrite)
        events = finished_events(store, config, redetect)
        if events:
            missing = missing_weights(store, config, config.train.steps)
            if missing:
                raise ConfigError(f"train.keep_weights: {store.path} finished without the "
                                  f"weights of steps {', '.join(map(str, missing[:5]))}; "
                                  "retrain with --overwrite to keep them")
            export_missing(store, config)
            return RunResult(store.path, events, 0.0)
        if config.train.threads:
            torch.set_num_threads(config.train.threads)
        cohort = Cohort(config)
        probes = ProbeCallback(cohort)  # a probe the task cannot serve fails here
        stopping = [StoppingCallback(config, cohort.n_members)] if config.stopping else []
        exports = [ExportCallback(config, spec, store) for spec in config.export]
        kept = [KeepWeights(config)] if config.train.kept_steps() else []
        t0 = time.perf_counter()
        with RunProgress(config.train.steps, cohort.n_members, config.detect,
                         enabled=progress) as bar:
            train(cohort, store, [probes, *stopping, *exports, *kept, bar, *callbacks])
        seconds = time.perf_counter() - t0
        events = finalize(store, config, cohort, seconds)
        for export in exports:
            export.finish(events)
    return RunResult(store.path, events, seconds)


def export_missing(store: RunStore, config: ExperimentConfig) -> None:
    """A finished run given an `export:` it has not written yet: write it from the store."""
    for spec in config.export:
        out, what = check_folder(store, spec)
        if not guard.is_marked(out.resolve(), "export"):
            keys = [m.key for m in members_of(config)]
            writer = spec.writer(take_folder(out, spec, keys, what, store.path))
            export_run(store, config, writer)
            writer.close()


def finished_events(store: RunStore, config: ExperimentConfig | None = None,
                    redetect: bool = False) -> dict[str, Any] | None:
    """events.json of a finished run (None if unfinished), detected again first when asked
    to or when an older detector wrote it; `config` defaults to the run's own. What a crash
    can leave beside finished results (a temporary file, a missing figure) is repaired."""
    events = store.read_events()
    if not events or not events.get("finished"):
        return None
    stale = redetect or events.get("detector_version", 1) != DETECTOR_VERSION
    if not (stale or store.temp_files() or not store.curves_path.is_file()):
        return events
    with DirLock(store.path, "run"):
        store.clean_temp()
        config = config or load_run(store.path)[0]
        if stale:
            return finalize(store, config, None, events.get("train_seconds"))
        plot_curves(store.load_metrics(), events["members"], store.curves_path,
                    title=f"{config.name}: {describe(config)}")
    return events


def finalize(store: RunStore, config: ExperimentConfig, cohort: Cohort | None = None,
             seconds: float | None = None) -> dict[str, Any]:
    """Consolidate metrics, detect grokking per member, write events.json and curves.png."""
    store.consolidate()
    table = store.load_metrics()
    members = resolve_members(config)  # every member, stopped or not
    previous = {} if cohort else store.read_events() or {}  # re-detect: keep what was measured
    shift = measure_shift(cohort) if cohort else previous.get("shift", {})
    stops = stop_records(cohort, previous)
    rows = []
    for index, spec in enumerate(members):
        c = curves(table, index)  # up to the member's own last step
        found = detect(c["steps"], c["train_acc"], c["test_acc"], config.detect,
                       c["train_loss"], c["test_loss"])
        measured = {name: values[index] for name, values in shift.items()}
        spikes = spike_summary(c["steps"], c["train_loss"], found.alpha1,
                               config.detect.spike_factor, config.detect.spike_min_loss)
        shape = descent_shape(c["steps"], c["test_loss"], config.detect.descent_depth)
        losses = {f"final_{split}_loss": float(c[f"{split}_loss"][-1]) if len(c["steps"])
                  else None for split in ("train", "test")}
        last = int(c["steps"][-1]) if len(c["steps"]) else None
        runs = config.source.runs if config.source is not None else []
        settings = spec.as_dict() if config.source is None else {
            "source_run": runs[index] if index < len(runs) else None}
        rows.append({"member": index, **settings, **found.as_dict(), **losses,
                     **measured, **spikes, **shape.as_dict(), "last_step": last,
                     **stops.get(index, _NOT_STOPPED)})
    events = {
        "finished": True,
        "steps": config.train.steps,
        "device": str(cohort.device) if cohort else previous.get("device"),
        "train_seconds": seconds,
        "execution": execution(cohort) if cohort else previous.get("execution"),
        "versions": versions() if cohort else previous.get("versions"),
        "detector": config.detect.model_dump(),
        "detector_version": DETECTOR_VERSION,
        "split": cohort.splits.meta if cohort else previous.get("split", {}),
        "shift": shift,
        "compute_used": compute_used(rows, config.train.steps),
        "members": rows,
    }
    store.write_events(events)
    plot_curves(table, rows, store.curves_path, title=f"{config.name}: {describe(config)}")
    return events


def execution(cohort: Cohort) -> dict[str, Any]:
    """How the run's steps ran (resolved from `auto`), and what compiling cost: the part of
    `train_seconds` a warm compile cache saves."""
    return {"backend": cohort.backend_name, "precision": cohort.precision,
            "sampler": cohort.sampler,
            "compile_seconds": round(float(cohort.backend.compile_seconds), 3)}


def versions() -> dict[str, str]:
    """What trained the run (the report's header shows it): grokscope, torch and Python."""
    import platform

    import grokscope

    return {"grokscope": grokscope.__version__, "torch": torch.__version__,
            "python": platform.python_version()}


_NOT_STOPPED = {"stop_step": None, "stop_rule": None}


def stop_records(cohort: Cohort | None, previous: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """member -> {stop_step, stop_rule} of the members that stopped before the budget: from
    the cohort that trained, or from the events being re-detected."""
    if cohort is not None:
        return {k: {"stop_step": v["step"], "stop_rule": v["rule"]}
                for k, v in cohort.stopped.items()}
    return {m["member"]: {"stop_step": m["stop_step"], "stop_rule": m.get("stop_rule")}
            for m in previous.get("members", []) if m.get("stop_step") is not None}


def compute_used(rows: list[dict[str, Any]], budget: int) -> float | None:
    """Member-steps trained / member-steps of the full budget: what stopping saved."""
    if not rows or budget <= 0:
        return None
    used = sum(min(budget, r["stop_step"] if r.get("stop_step") is not None else budget)
               for r in rows)
    return used / (budget * len(rows))


def measure_shift(cohort: Cohort) -> dict[str, list[float]]:
    """Train/test shift per member, for tasks with subclasses (Carvalho et al. 2025); every
    member's own split, stopped or not."""
    task = cohort.task
    if "subclass" not in task.groups:
        return {}
    from grokscope.probes import distribution_shift

    device = task.inputs.device
    return distribution_shift(task.inputs, cohort.splits.train.to(device),
                              cohort.splits.test.to(device), task.groups["subclass"])


def load_run(path: str | Path) -> tuple[ExperimentConfig, RunStore]:
    """The config and store of an existing run directory."""
    store = RunStore(path)
    return _parse_stored(store.read_config(), store.config_path), store


def _parse_stored(text: str, source: Path) -> ExperimentConfig:
    """A run's own config.yaml, or a one-line error saying it is damaged."""
    try:
        data = parse_yaml(text, str(source))
        if not isinstance(data, dict):
            raise ConfigError("not a mapping")
        return parse_config(data)
    except ConfigError as exc:
        reason = str(exc).replace(str(source), "").strip(" :")[:120]
        raise ConfigError(f"run: {source} is corrupt or no longer valid ({reason}); restore "
                          "it, or retrain with --overwrite") from None
