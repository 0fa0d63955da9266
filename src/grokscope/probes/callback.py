"""The probes of a run as a training callback: each configured probe on its schedule, its
values recorded into the run's metrics (scalars) and spectra (vectors) by the metric sink."""

from __future__ import annotations

from collections.abc import Callable

from grokscope.probes.api import ProbeContext
from grokscope.probes.measure import ProbeSet
from grokscope.training.callbacks import Callback
from grokscope.training.cohort import Evaluation


class ProbeCallback(Callback):
    def __init__(self, cohort: ProbeContext) -> None:
        self.probes = ProbeSet(cohort.config.probes, cohort)  # checks them: before training

    def on_step(self, step: int, evaluate: Callable[[], Evaluation]) -> None:
        if self.probes and self.probes.due(step):  # reuses this step's evaluation, if any
            scalars, vectors = self.probes.measure(self.loop.cohort, step, evaluate)
            self.loop.sink.record_probes(step, scalars, vectors)
