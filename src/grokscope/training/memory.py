"""How much memory a cohort needs, estimated before anything is allocated.

A cohort of E members holds E copies of the weights, their gradients and the optimizer's
state, the per-member masks over the task's N examples, and the activations of a full-batch
step (E x N x width per layer). A setting that asks for more than the machine has
(`cohort.members: 1e7`, `task.p: 1e6`, `model.width: 1e9`) would otherwise end deep inside
torch in a `MemoryError` or an allocator traceback, or page for minutes; here it is refused
in one line naming the setting, the estimate and the memory available. The estimate is
coarse (a factor of two either way): it refuses only what cannot fit, it does not promise
that what passes fits.
"""

from __future__ import annotations

import os
from typing import Any

import torch

from grokscope.errors import ConfigError

GIB = 1 << 30
STATE_COPIES = 4  # weights, gradients, Adam's two moments
MEMBER_OVERHEAD = 4096  # bytes of Python bookkeeping per member (its settings, its rows)


def available_bytes(device: torch.device) -> int | None:
    """Memory free for this run: the GPU's free memory, or the machine's available RAM (the
    cgroup's limit when tighter); None where it cannot be read."""
    if device.type == "cuda":
        return int(torch.cuda.mem_get_info(device)[0])
    free = None
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    free = int(line.split()[1]) * 1024
    except OSError:
        try:
            free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (ValueError, OSError, AttributeError):
            return None
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = open(path).read().strip()
        except OSError:
            continue
        if limit.isdigit() and (free is None or int(limit) < free):
            free = int(limit)
    return free


def _refuse(setting: str, need: float, free: int | None, what: str) -> None:
    if free is not None and need > free:
        raise ConfigError(f"{setting}: {what} needs about {need / GIB:,.1f} GiB, more than the "
                          f"{free / GIB:,.1f} GiB available; make it smaller")


def check_members(n_members: int, device: torch.device) -> None:
    """Before the members are resolved: E members' bookkeeping alone must fit."""
    _refuse("cohort.members", n_members * MEMBER_OVERHEAD, available_bytes(torch.device("cpu")),
            f"a cohort of {n_members:,} members")


def check_task(config: Any, device: torch.device) -> None:
    """Before the task is built, for tasks whose size follows from their settings (all
    operand pairs of Z_p: p^2 examples)."""
    p = getattr(config, "p", None)
    if isinstance(p, int) and getattr(config, "name", None) == "modular":
        _refuse("task.p", p * p * 3 * 8, available_bytes(torch.device("cpu")),
                f"the table of all {p:,}^2 operand pairs")


def check_cohort(model_config: Any, task: Any, n_members: int, device: torch.device,
                 build: Any) -> None:
    """Before the model is allocated: weights and optimizer state from one member built on
    the `meta` device (no memory), masks over the task's examples, activations of a
    full-batch step."""
    with torch.device("meta"):
        one = build(model_config, task, 1)
    params = sum(p.numel() for p in one.parameters())
    n = int(task.inputs.shape[0])
    widths = {k: int(getattr(model_config, k)) for k in ("width", "d_model", "d_mlp")
              if isinstance(getattr(model_config, k, None), int)}
    wide = max(widths, key=widths.__getitem__, default="width")
    width = widths.get(wide, 0)
    depth = int(getattr(model_config, "depth", None) or getattr(model_config, "n_layers", 1)
                or 1)
    n_out = int(getattr(task, "n_classes", 1) or 1)
    weights = n_members * params * STATE_COPIES * 4
    steps = n_members * n * (width * depth + n_out) * 4 * 3  # forward, backward, evaluation
    masks = n_members * n * 2
    free = available_bytes(device)
    if free is not None and (weights + steps + masks) / n_members > free:  # not one member
        setting = f"model.{wide}" if width * depth >= n else "task"
    else:
        setting = "cohort.members"
    _refuse(setting, weights + steps + masks, free,
            f"{n_members:,} members x {params:,} parameters over {n:,} examples")


def out_of_memory(error: BaseException) -> bool:
    """An allocation failure, however torch words it (CPU allocator, CUDA, MemoryError)."""
    if isinstance(error, MemoryError | torch.OutOfMemoryError):
        return True
    text = str(error)
    return isinstance(error, RuntimeError) and any(
        s in text for s in ("DefaultCPUAllocator", "not enough memory", "out of memory",
                            "Cannot allocate memory"))
