"""One-line descriptions of a config, for figure titles and report headers."""

from __future__ import annotations

from typing import Any

from grokscope.config.schema import ExperimentConfig


def describe(config: ExperimentConfig) -> str:
    """A one-line title: task, split and model (or, imported, where the curves came from)."""
    if config.source is not None:
        return f"imported from {config.source.format} ({config.source.path})"
    task: Any = config.task  # each lambda reads the fields of its own task kind
    what = {
        "modular": lambda: f"{task.op} mod {task.p}",
        "permutation": lambda: f"{task.op} in S{task.n}",
        "random_table": lambda: f"random table {task.p}x{task.p}",
        "sparse_parity": lambda: f"({task.n_bits}, {task.k})-parity",
        "mnist": lambda: f"mnist ({task.path or task.source})",
    }.get(task.name, lambda: task.name)()
    return f"{what}, {config.split.name} split, {config.model.name}"


def describe_model(config: ExperimentConfig) -> str:
    """The architecture's size in the field's words (width/depth, or d_model/layers/heads)."""
    if config.source is not None:
        return "unknown (imported curves)"
    model: Any = config.model
    fields = {"mlp": ("width", "depth", "embed_dim"),
              "transformer": ("d_model", "n_layers", "n_heads", "d_mlp")}.get(model.name, ())
    sizes = ", ".join(f"{k} {getattr(model, k)}" for k in fields if hasattr(model, k))
    scale = getattr(model, "init_scale", None)
    sizes += "" if scale is None else f", init scale {scale}"
    return f"{model.name} ({sizes.lstrip(', ')})"


def describe_recipe(config: ExperimentConfig) -> str:
    """Optimizer, its settings and links, loss, steps and batch: what trains the model."""
    if config.source is not None:
        tags = config.source.tags[0] if config.source.tags else []
        return f"unknown (imported curves; columns {', '.join(tags)})"
    optim, train = config.optim, config.train
    links = [getattr(t, "name", str(t)) for t in optim.transforms]
    batch = "full batch" if train.batch_size is None else f"batch {train.batch_size}"
    text = (f"{optim.name}, lr {optim.lr}, weight decay {optim.weight_decay}, betas "
            f"{optim.betas}; {train.loss} loss; {train.steps} steps, {batch}")
    if links:
        text += "; transforms: " + " → ".join(links)
    if config.stopping:
        text += "; stopping: " + ", ".join(getattr(s, "name", str(s)) for s in config.stopping)
    return text
