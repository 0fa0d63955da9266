"""The step loop: evaluate, let the callbacks record, checkpoint, update; resume if killed.

Step s means "after s updates". A logged step's evaluation goes to the callbacks as device
tensors; the metric sink copies them to the host in blocks and writes a Parquet part before
every checkpoint. A run killed at any point restarts from its last checkpoint and drops the
parts written after it, so no logged row is lost or repeated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import torch

from grokscope.store import RunStore
from grokscope.training.callbacks import Callback, Callbacks, DivergenceGuard, Loop
from grokscope.training.cohort import Cohort, Evaluation
from grokscope.training.sink import MetricSink


def train(cohort: Cohort, store: RunStore, callbacks: Sequence[Callback] = (),
          drain_every: int = 10) -> int:
    """Train the cohort to `train.steps`, continuing from the store's checkpoint if any;
    returns the step training (re)started from."""
    cfg = cohort.config.train
    state = store.load_checkpoint()
    if state is not None:
        cohort.load_state_dict(state["cohort"])
    start = int(state["step"]) if state else 0
    store.truncate_after(start)
    calls = Callbacks([])
    sink = MetricSink(drain_every, on_host=lambda step, values: calls.on_host(step, values))
    calls.items = [sink, DivergenceGuard(), *callbacks]
    calls.on_start(Loop(cohort, store, start, sink, calls.items))
    step, logged = start, is_logged(cfg)
    for step in range(start, cfg.steps + 1):
        if not cohort.ids:  # every member has stopped: the run is over
            break
        if state is None or step > start:  # a resumed step was recorded before the kill
            done: list[Evaluation] = []

            def evaluate(done: list[Evaluation] = done) -> Evaluation:
                if not done:
                    done.append(cohort.evaluate())
                return done[0]

            if logged(step):
                evaluate()  # before the probes: they reuse this step's evaluation
            calls.on_step(step, evaluate)
            if done:
                calls.on_log(step, done[0])
            checkpoint = step > start and (step % cfg.checkpoint_every == 0
                                           or step == cfg.steps)
            if checkpoint:
                calls.on_checkpoint(step)
            stop = calls.stop_request(step)  # before the checkpoint, so that it holds them
            if stop and step < cfg.steps:  # at the last step, every member ends anyway
                sink.drain()  # rows waiting on the device belong to the members as they were
                keep = [k for k in range(cohort.n_members) if k not in stop]
                cohort.stop(stop, step)
                calls.on_compact(keep)
                if not cohort.ids and not checkpoint:  # the last members stopped: the end
                    calls.on_checkpoint(step)
                    checkpoint = True
            if checkpoint:
                store.save_checkpoint(_checkpoint(cohort, step))
        if step == cfg.steps or not cohort.ids:
            break
        cohort.step()
    calls.on_end(step)
    return start


def log_steps(last: int, per_decade: int) -> set[int]:
    """Steps 0, 1, ... rounded from 10^(i / per_decade), plus `last`: distinct, ascending."""
    out = {0, last}
    i = 0
    while (step := round(10 ** (i / per_decade))) <= last:
        out.add(step)
        i += 1
    return out


def is_logged(cfg: Any) -> Callable[[int], bool]:
    """Whether a step is evaluated: every `log_every` steps, the last one, and with
    `log_per_decade` also log-spaced steps (double descent and grokking read on log-x)."""
    spaced = log_steps(cfg.steps, cfg.log_per_decade) if cfg.log_per_decade else set()
    return lambda step: step % cfg.log_every == 0 or step == cfg.steps or step in spaced


def _checkpoint(cohort: Cohort, step: int) -> dict[str, Any]:
    return {"step": step, "cohort": cohort.state_dict(), "torch": str(torch.__version__)}
