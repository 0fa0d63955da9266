"""Registries of the model architectures and split policies, like the task registry
(`grokscope.config.tasks`): a settings class, a builder (a callable or a `"module:function"`
path, imported when a run builds it) and a one-line description. Registering one rebuilds the
experiment schema's `model` or `split` field to accept it."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

from grokscope.config.tasks import TaskEntry
from grokscope.registry import Registry

MODELS: Registry[TaskEntry] = Registry("model")
# losses: name -> "module:function" (or a callable) of (logits (E, n, C), labels) -> (E, n)
LOSSES: Registry[str | Callable[..., Any]] = Registry("loss")
SPLITS: Registry[TaskEntry] = Registry("split")
# step backends: name -> "module:Class" (or a class) built as `Class(cohort)`; see
# grokscope.training.backends. `train.backend: auto` picks `compile` on CUDA, `eager` on CPU.
BACKENDS: Registry[str | Callable[..., Any]] = Registry("backend")
# example orderings of a mini-batch stream: name -> "module:function" (or a callable)
# `(ids, task, generator, seed) -> ids in this epoch's order`; see grokscope.training.orderings
ORDERINGS: Registry[str | Callable[..., Any]] = Registry("ordering")


def _register(registry: Registry[TaskEntry], name: str, description: str,
              build: str | Callable[..., Any]) -> Callable[[type], type]:
    def add(config: type) -> type:
        registry.register(name, description)(TaskEntry(config, build))
        return config

    return add


def register_model(name: str, description: str,
                   build: str | Callable[..., Any]) -> Callable[[type], type]:
    """Decorator on a model's settings class; `build(config, task, n_members)` returns an
    uninitialised `CohortModule`."""
    return _register(MODELS, name, description, build)


def register_split(name: str, description: str,
                   build: str | Callable[..., Any]) -> Callable[[type], type]:
    """Decorator on a split policy's settings class; `build(config, task, split_seeds,
    fractions, n_trains, fs)` returns `Splits`."""
    return _register(SPLITS, name, description, build)


def register_loss(name: str, description: str,
                  loss: str | Callable[..., Any]) -> None:
    """A per-example loss `(logits (E, n, C), integer labels (E, n)) -> (E, n)`, chosen with
    `train.loss: name` (computed in `train.loss_dtype`)."""
    LOSSES.register(name, description)(loss)


def register_ordering(name: str, description: str,
                      order: str | Callable[..., Any]) -> None:
    """An example ordering of the mini-batch stream, chosen per member with `train.order`:
    `order(ids, task, generator, seed)` returns the member's train ids in the order of one
    epoch, called once per epoch (the stream cuts it into batches)."""
    ORDERINGS.register(name, description)(order)


def _resolved(registry: Registry[str | Callable[..., Any]], name: str,
              where: str) -> Callable[..., Any]:
    """A registered callable, or the one its `"module:attribute"` path names (imported now)."""
    entry = registry.get(name, where=where)
    if callable(entry):
        return entry
    module, attribute = entry.split(":")
    return getattr(import_module(module), attribute)  # type: ignore[no-any-return]


def ordering_function(name: str) -> Callable[..., Any]:
    return _resolved(ORDERINGS, name, "train.order")


def register_backend(name: str, description: str,
                     backend: str | Callable[..., Any]) -> None:
    """A step backend `backend(cohort)` with `.step(indices, weights)`, chosen with
    `train.backend: name` (see `grokscope.training.backends`)."""
    BACKENDS.register(name, description)(backend)


def backend_class(name: str) -> Callable[..., Any]:
    return _resolved(BACKENDS, name, "train.backend")


def loss_function(name: str) -> Callable[..., Any]:
    return _resolved(LOSSES, name, "train.loss")


register_loss("cross_entropy", "softmax cross-entropy", "grokscope.training.losses:_cross_entropy")
register_loss("mse", "squared error to one-hot targets averaged over classes (Omnigrok, Liu "
              "et al. 2023)", "grokscope.training.losses:_mse")
register_loss("stablemax", "StableMax cross-entropy (Prieto et al. 2025): s(x) = x + 1 above 0, "
              "1 / (1 - x) below, in place of exp; they compute it in float64 "
              "(train.loss_dtype: float64)", "grokscope.training.losses:_stablemax_cross_entropy")

register_backend("eager", "plain PyTorch: the step in cache-sized chunks, the optimizer chain "
                 "link by link (the CPU default)", "grokscope.training.backends:EagerStep")
register_backend("compile", "torch.compile of the loss (forward and backward) and of the "
                 "optimizer update; CUDA graphs on a GPU (the CUDA default)",
                 "grokscope.training.backends:CompiledStep")

_O = "grokscope.training.orderings"
register_ordering("reshuffle", "a new random permutation every epoch (the default; the stream "
                  "as before orderings existed, bit for bit)", f"{_O}:reshuffle")
register_ordering("fixed", "one random permutation, drawn once from the member's seed, "
                  "repeated every epoch", f"{_O}:fixed")
register_ordering("sorted_target", "sorted by label (then by index), every epoch",
                  f"{_O}:by_target")
register_ordering("stride", "sorted by (a mod floor(sqrt(p)), a), then b (LeDoux 2026's order); "
                  "tasks with operands a, b", f"{_O}:stride")
register_ordering("easy_first", "small operands first: sorted by a + b (then a), every epoch; "
                  "tasks with operands a, b", f"{_O}:easy_first")
