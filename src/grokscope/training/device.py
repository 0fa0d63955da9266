"""The device policy: which device a run trains on, and how many members a cohort holds."""

from __future__ import annotations

import torch

from grokscope.errors import ConfigError

# Members per cohort on a CPU: measured on 2 cores (Dataset-1 MLP, batch 200), 30 members
# cost 1.3 ms per member-step and 60 members 1.8 ms (their activations outgrow the cache).
MAX_MEMBERS = {"cpu": 32, "cuda": 512}


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present; asking for CUDA without it is a config error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: unknown device {name!r} (allowed: auto, cpu, cuda, "
                          "cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {name!r} requested but CUDA is not available here "
                          "(allowed: auto, cpu)")
    if device.type == "cuda" and device.index is not None and \
            device.index >= torch.cuda.device_count():
        raise ConfigError(f"train.device: {name!r}: this machine has "
                          f"{torch.cuda.device_count()} CUDA device(s) (allowed: cuda:0.."
                          f"cuda:{torch.cuda.device_count() - 1})")
    if device.type not in ("cpu", "cuda"):
        raise ConfigError(f"train.device: {name!r} is not supported (allowed: auto, cpu, "
                          "cuda, cuda:N)")
    return device
