"""Shared helpers: tiny configs that train in seconds on one CPU core."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from grokscope.config import ExperimentConfig, parse_config
from grokscope.config.paths import merge  # noqa: F401 - the tests' merge is the library's
from grokscope.training.callbacks import Callback

torch.set_num_threads(1)  # deterministic and fair on the 2-core CI machine


TINY = {
    "name": "tiny",
    "task": {"name": "modular", "p": 17, "op": "a+b"},
    "split": {"name": "uniform", "fraction": 0.5},
    "model": {"name": "mlp", "embed_dim": 16, "width": 32},
    "optim": {"lr": 1e-2, "weight_decay": 0.5},
    "train": {"steps": 60, "log_every": 10, "checkpoint_every": 20, "device": "cpu"},
    "cohort": {"members": 2},
}

TINY_TRANSFORMER = {"model": {"name": "transformer", "d_model": 16, "n_heads": 2, "d_mlp": 32}}


@pytest.fixture
def tiny_config():
    def make(**override: Any) -> ExperimentConfig:
        return parse_config(merge(TINY, override))

    return make


class CrashAt(Callback):
    """A callback that raises `error` when step `step`'s values reach the host: a crash
    injected at the callback seam (the loop's own code is not touched)."""

    def __init__(self, step: int, error: type[Exception]) -> None:
        self.step, self.error = step, error

    def on_host(self, step: int, values: dict) -> None:
        if step == self.step:
            raise self.error
