"""Keep the members' weights at chosen steps (`train.keep_weights`), for what is computed
from a run's weights after it ended: a lottery ticket's mask is pruned from the weights at
memorization, mid-transition or after generalization (Minegishi et al. 2024), and the
ticket rewinds to the step-0 weights."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from grokscope.errors import ConfigError
from grokscope.training.callbacks import Callback, Loop

if TYPE_CHECKING:
    from grokscope.config.schema import ExperimentConfig
    from grokscope.store import RunStore
    from grokscope.training.cohort import Evaluation


def missing_weights(store: RunStore, config: ExperimentConfig, through: int) -> list[int]:
    """The kept steps up to `through` (a checkpoint's step: its weights were written before
    it) that the store does not hold."""
    held = set(store.weight_steps())
    return sorted(s for s in config.train.kept_steps() if s <= through and s not in held)


class KeepWeights(Callback):
    """Writes `weights/step-<n>.pt` (the live members' ids and parameters) at each kept
    step, before that step's update: step s holds the weights after s updates."""

    def __init__(self, config: ExperimentConfig) -> None:
        self.steps = config.train.kept_steps()
        self.config = config

    def on_start(self, loop: Loop) -> None:
        super().on_start(loop)
        missing = missing_weights(loop.store, self.config, loop.start) if loop.start else []
        if missing:
            raise ConfigError(f"train.keep_weights: the run resumes at step {loop.start}, past "
                              f"steps it has no weights for ({', '.join(map(str, missing[:5]))})"
                              "; retrain with --overwrite to keep them")

    def on_step(self, step: int, evaluate: Callable[[], Evaluation]) -> None:
        if step not in self.steps:
            return
        cohort = self.loop.cohort
        params = {name: p.detach().to("cpu", copy=True)
                  for name, p in cohort.model.named_parameters()}
        self.loop.store.save_weights(step, {"step": step, "ids": list(cohort.ids),
                                            "params": params})
