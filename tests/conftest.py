"""Shared helpers: tiny configs that train in seconds on one CPU core."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import torch

from grokscope.config import ExperimentConfig, parse_config

torch.set_num_threads(1)  # deterministic and fair on the 2-core CI machine


def merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(base)
    for key, value in override.items():
        same_kind = not isinstance(value, dict) or value.get("name") in (None, out.get(key, {}).get("name"))
        if isinstance(value, dict) and isinstance(out.get(key), dict) and same_kind:
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


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
