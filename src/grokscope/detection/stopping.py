"""Stopping rules and the forecast as a training callback (docs/stopping.md), on the callback
seam of `grokscope.training.callbacks`.

At every logged step it brings the step's values to the host (one device sync per log, so
that a member stops at the log its rule fired, not a block later), appends them to each live
member's history, asks each member's rules (`detection.online`: functions of that history
alone, so a replay over the stored curve decides the same) and records the forecast of late
generalization as probe columns `forecast/p_grok` and `forecast/alpha1`. A killed run
rebuilds the histories from its stored metrics, so its decisions after a resume are the ones
an uninterrupted run takes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from grokscope.config import ExperimentConfig
from grokscope.detection.forecast import Forecast, shipped
from grokscope.detection.online import NORM, History, Rule
from grokscope.store.metrics import member_histories
from grokscope.training.callbacks import Callback, Loop
from grokscope.training.cohort import Evaluation

if TYPE_CHECKING:
    from grokscope.monitor import Decision

COLUMNS = ("train_loss", "train_acc", "test_loss", "test_acc", NORM)
P_GROK, ETA = "forecast/p_grok", "forecast/alpha1"


def member_rules(config: ExperimentConfig, n_members: int) -> list[list[Rule]]:
    """Each member's rules, built from `stopping:` (a list setting gives each member its own
    value); a one-line error when a list does not match the cohort (`Monitor.cohort`)."""
    from grokscope.monitor import Monitor

    specs = [spec.model_dump() for spec in config.stopping]
    cohort = Monitor.cohort(n_members, specs, detect=config.detect, forecast=False)
    return [monitor.rules for monitor in cohort.members]


class StoppingCallback(Callback):
    """Stops each member when one of its rules fires; logs the forecast for every member.

    A thin wrapper over `grokscope.Monitor`, one per member: the decisions a researcher's own
    loop gets from a Monitor are these, by the same code."""

    stop_reason = "stopping"

    def __init__(self, config: ExperimentConfig, n_members: int,
                 forecast: Forecast | None = None) -> None:
        from grokscope.monitor import Monitor

        self.config, self.budget = config, config.train.steps
        self.forecast = forecast if forecast is not None else shipped()
        specs = [spec.model_dump() for spec in config.stopping]
        self.monitors = Monitor.cohort(n_members, specs, budget=self.budget,
                                       detect=config.detect, forecast=self.forecast).members
        self.decisions: dict[int, Decision] = {}
        self.requests: dict[int, str] = {}
        self.latest: dict[int, tuple[float, float]] = {}

    def on_start(self, loop: Loop) -> None:
        super().on_start(loop)
        if loop.start == 0:
            return
        stored = member_histories(loop.store.load_metrics(), (NORM,))
        for member, entry in stored.items():
            keep = entry["steps"] <= loop.start
            self.monitors[member].load_history(entry["steps"][keep],
                                               {c: entry[c][keep] for c in COLUMNS})

    def history(self, member: int) -> History:
        return self.monitors[member].history()

    def on_host(self, step: int, values: dict[str, np.ndarray]) -> None:
        for position, member in enumerate(self.loop.cohort.ids):
            monitor = self.monitors[member]
            if monitor.last_step is not None and monitor.last_step >= step:
                continue  # already held (a resumed step)
            row = {c: float(values[c][position]) if values.get(c) is not None else math.nan
                   for c in COLUMNS}
            self.decisions[member] = monitor.update(
                step, train_acc=row["train_acc"], test_acc=row["test_acc"],
                train_loss=row["train_loss"], test_loss=row["test_loss"],
                weight_norm=row[NORM])

    def on_log(self, step: int, evaluation: Evaluation) -> None:
        self.loop.sink.drain()  # this step's values reach the host (and `on_host`) now
        ids = self.loop.cohort.ids
        p_grok, eta = np.full(len(ids), np.nan), np.full(len(ids), np.nan)
        for position, member in enumerate(ids):
            decision = self.decisions.get(member)
            if decision is None or decision.step != step:
                continue
            if not math.isnan(decision.p_grok):
                p_grok[position], eta[position] = decision.p_grok, decision.eta_alpha1
                self.latest[member] = (decision.p_grok, decision.eta_alpha1)
            if decision.stop and decision.reason is not None:
                self.requests[position] = decision.reason
        self.loop.sink.record_probes(step, {P_GROK: torch.from_numpy(p_grok),
                                            ETA: torch.from_numpy(eta)}, {})

    def stop_request(self, step: int) -> dict[int, str] | None:
        requests, self.requests = self.requests, {}
        return requests or None

    def on_compact(self, keep: Sequence[int]) -> None:
        self.requests = {}

    def progress_info(self) -> str:
        """For the progress bar: members stopped, and the live members' forecast."""
        cohort = self.loop.cohort
        live = [self.latest[m] for m in cohort.ids if m in self.latest]
        text = f"stopped {len(cohort.stopped)}"
        if live:
            p = np.array([v[0] for v in live])
            eta = np.median([v[1] for v in live])
            text += f" · P(grok) {np.mean(p):.2f} · ETA α1 {eta:,.0f}"
        return text
