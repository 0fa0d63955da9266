"""The step loop: train, evaluate every `log_every` steps, flush and checkpoint, resume."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from grokscope.probes.measure import ProbeSet
from grokscope.store import MetricLog, RunStore
from grokscope.store.metrics import SpectraLog
from grokscope.training.cohort import Cohort, Evaluation

OnLog = Callable[[int, dict[str, list[float]]], None]


def _resume_step(store: RunStore, cohort: Cohort) -> int | None:
    """Load the last checkpoint into the cohort; its step, or None for a fresh start."""
    state = store.load_checkpoint()
    if state is None:
        return None
    cohort.load_state_dict(state["cohort"])
    return int(state["step"])


def train(cohort: Cohort, store: RunStore, on_log: OnLog | None = None,
          on_start: Callable[[int], None] | None = None, drain_every: int = 10) -> int:
    """Train the cohort to `train.steps`, continuing from the store's checkpoint if any.

    Step s means "after s updates". Metrics of logged steps (and probe values, on the
    probes' schedules) stay on the device and are copied
    to the host in blocks of `drain_every` logs; at every checkpoint the rows up to that step
    are flushed as one Parquet part, then the checkpoint is written. A run killed at any point
    restarts from its last checkpoint and drops the parts written after it.
    `on_start(step)` is told where training (re)starts. Returns that step.
    """
    cfg = cohort.config.train
    resumed = _resume_step(store, cohort)
    start = resumed or 0
    if on_start:
        on_start(start)
    store.truncate_after(start)
    log, pending, names = MetricLog(), [], []
    probes, probed, spectra = ProbeSet(cohort.config.probes, cohort), [], SpectraLog()

    def drain() -> None:
        for step, scalars, vectors in probed:
            if scalars:
                log.add_probes(step, **{k: v.cpu().numpy() for k, v in scalars.items()})
            spectra.add(step, **{k: v.cpu().numpy() for k, v in vectors.items()})
        probed.clear()
        if not pending:
            return
        host = torch.stack([torch.stack(v) for _, v in pending]).cpu().numpy()  # (K, M, E)
        for (step, _), values in zip(pending, host, strict=True):
            columns = dict(zip(names, values, strict=True))
            log.add(step, **columns)
            diverged = ~(np.isfinite(columns["train_loss"]) & np.isfinite(columns["test_loss"]))
            if diverged.any():
                cohort.freeze(np.flatnonzero(diverged).tolist())
            if on_log:
                on_log(step, {k: v.tolist() for k, v in columns.items()})
        pending.clear()

    for step in range(start, cfg.steps + 1):
        if resumed is None or step > start:
            evaluation: Evaluation | None = None
            if step % cfg.log_every == 0 or step == cfg.steps:
                evaluation = cohort.evaluate()
                columns = evaluation.columns()
                names[:] = list(columns)
                pending.append((step, list(columns.values())))
            if probes and probes.due(step):  # probes reuse this step's evaluation if any
                probed.append((step, *probes.measure(
                    cohort, step, lambda done=evaluation: done or cohort.evaluate())))
            if len(pending) >= drain_every:
                drain()
            if step > start and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
                drain()
                store.append_metrics(log.to_table(), step)
                store.append_spectra(spectra.to_table(), step)
                log.clear()
                spectra.clear()
                store.save_checkpoint(_checkpoint(cohort, step))
        if step == cfg.steps:
            break
        cohort.step()
    return start


def _checkpoint(cohort: Cohort, step: int) -> dict[str, Any]:
    return {"step": step, "cohort": cohort.state_dict(), "torch": str(torch.__version__)}
