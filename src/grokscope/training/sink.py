"""The metric sink: logged values and probe values, from the device into the run's Parquet.

Values stay on the device until `drain_every` logs have gathered, then move to the host in
one copy (and are shown to `on_host` listeners); at every checkpoint the rows up to that step
become one Parquet part of metrics (and of spectra), written before the checkpoint itself.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from grokscope.store import MetricLog
from grokscope.store.metrics import SpectraLog
from grokscope.training.callbacks import Callback, Loop
from grokscope.training.cohort import Evaluation

Values = dict[str, torch.Tensor]


class MetricSink(Callback):
    def __init__(self, drain_every: int = 10,
                 on_host: Callable[[int, dict[str, np.ndarray]], None] | None = None) -> None:
        self.drain_every, self.on_host_values = drain_every, on_host
        self.log, self.spectra = MetricLog(), SpectraLog()
        self.pending: list[tuple[int, list[torch.Tensor]]] = []
        self.names: list[str] = []
        self.probed: list[tuple[int, list[int], Values, Values]] = []
        self.pending_ids: list[int] = []

    def on_start(self, loop: Loop) -> None:
        super().on_start(loop)
        loop.sink = self

    def record_probes(self, step: int, scalars: Values, vectors: Values) -> None:
        """Probe values `(E,)` (metrics rows) and `(E, k)` (spectra rows) of `step`, for the
        cohort's live members."""
        self.probed.append((step, list(self.loop.cohort.ids), scalars, vectors))

    def on_log(self, step: int, evaluation: Evaluation) -> None:
        columns = evaluation.columns()
        self.names[:] = list(columns)
        # the loop drains before members stop, so every pending row has these ids
        self.pending_ids = list(self.loop.cohort.ids)
        self.pending.append((step, list(columns.values())))
        if len(self.pending) >= self.drain_every:
            self.drain()

    def drain(self) -> None:
        probed: dict[int, dict[str, np.ndarray]] = {}  # probe scalars by step, for on_host
        for step, ids, scalars, vectors in self.probed:
            members = np.asarray(ids)
            host = {k: v.cpu().numpy() for k, v in scalars.items()}
            if host:
                self.log.add_probes(step, members, **host)
                if ids == self.pending_ids:
                    probed.setdefault(step, {}).update(host)
            self.spectra.add(step, members, **{k: v.cpu().numpy() for k, v in vectors.items()})
        self.probed.clear()
        if not self.pending:
            return
        block = torch.stack([torch.stack(v) for _, v in self.pending]).cpu().numpy()  # (K, M, E)
        members = np.asarray(self.pending_ids)
        for (step, _), values in zip(self.pending, block, strict=True):
            columns: dict[str, np.ndarray] = dict(zip(self.names, values, strict=True))
            self.log.add(step, members, **columns)
            columns.update(probed.get(step, {}))  # listeners also see the step's probe values
            if self.on_host_values:
                self.on_host_values(step, columns)
        self.pending.clear()

    def on_checkpoint(self, step: int) -> None:
        self.drain()
        self.loop.store.append_metrics(self.log.to_table(), step)
        self.loop.store.append_spectra(self.spectra.to_table(), step)
        self.log.clear()
        self.spectra.clear()
