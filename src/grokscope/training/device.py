"""The device policy: which device a run trains on, and how many members a cohort holds."""

from __future__ import annotations

import torch

from grokscope.config import ExperimentConfig
from grokscope.errors import ConfigError
from grokscope.models import build_model
from grokscope.tasks import build_task

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


def members_per_cohort(config: ExperimentConfig) -> int:
    """Members per cohort, the one policy of sweeps and reproductions: on CPU the measured
    cache limit (MAX_MEMBERS); on a GPU what half of its free memory holds, per member ~16
    bytes per parameter (weights, gradient, two AdamW moments) plus 16 bytes per activation
    of its largest batch."""
    device = resolve_device(config.train.device)
    if device.type != "cuda":
        return MAX_MEMBERS["cpu"]
    task = build_task(config.task)
    model = build_model(config.model, task, 1)
    params = sum(p.numel() for p in model.parameters())
    width = int(getattr(config.model, "width", None) or getattr(config.model, "d_mlp", None)
                or 512)
    batch = config.train.batch_size
    rows: int = max(batch) if isinstance(batch, list) else batch or task.n_examples
    per_member = 16 * params + 16 * rows * width * 4
    free, _ = torch.cuda.mem_get_info(device)
    return int(max(1, min(MAX_MEMBERS["cuda"] * 2, free * 0.5 // per_member)))


def resolve_backend(name: str, device: torch.device) -> str:
    """`train.backend: auto` is compile on CUDA (launch-bound small models) and eager on a
    CPU (compute-bound, where compiling measured slower: docs/benchmarks.md)."""
    if name != "auto":
        return name
    return "compile" if device.type == "cuda" else "eager"


def resolve_precision(name: str, device: torch.device) -> str:
    """`train.precision: auto` is tf32 on CUDA, float32 on a CPU (which has no TF32)."""
    if name != "auto":
        return name
    return "tf32" if device.type == "cuda" else "float32"


def resolve_sampler(name: str, device: torch.device) -> str:
    """`train.sampler: auto` draws mini-batches on the device on CUDA (no per-member loop,
    no host-to-device copy), on the host on a CPU (the original stream, bit for bit)."""
    if name != "auto":
        return name
    return "device" if device.type == "cuda" else "host"


def set_matmul_precision(precision: str, device: torch.device) -> None:
    """TF32 tensor-core matmuls on CUDA for tf32 and bfloat16 (the part autocast leaves in
    float32), strict float32 otherwise. A CUDA-only switch: a CPU's matmuls are unchanged."""
    if device.type != "cuda":
        return
    allow = precision in ("tf32", "bfloat16")
    torch.backends.cuda.matmul.allow_tf32 = allow
    torch.backends.cudnn.allow_tf32 = allow
