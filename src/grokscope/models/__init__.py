"""Models: cohort-vectorized MLP and transformer; every parameter has a leading member axis."""

from __future__ import annotations

from grokscope.config import MLPConfig, TransformerConfig
from grokscope.errors import ConfigError
from grokscope.models.cohort import CohortModule
from grokscope.models.mlp import CohortMLP
from grokscope.models.transformer import CohortTransformer
from grokscope.tasks.base import TaskData


def build_model(
    config: MLPConfig | TransformerConfig, task: TaskData, n_members: int
) -> CohortModule:
    """An uninitialised cohort model shaped for the task (call `.initialize(seeds, scales)`)."""
    if task.kind != "tokens":
        raise ConfigError(
            f"model '{config.name}': reads token inputs, but task '{task.name}' has {task.kind}"
        )
    shape = dict(n_members=n_members, vocab_size=task.vocab_size, n_classes=task.n_classes,
                 n_tokens=task.inputs.shape[1])
    if isinstance(config, MLPConfig):
        return CohortMLP(**shape, embed_dim=config.embed_dim, width=config.width,
                         depth=config.depth, activation=config.activation,
                         combine=config.combine, bias=config.bias)
    return CohortTransformer(**shape, n_layers=config.n_layers, d_model=config.d_model,
                             n_heads=config.n_heads, d_mlp=config.d_mlp,
                             layer_norm=config.layer_norm, activation=config.activation)


__all__ = ["CohortMLP", "CohortModule", "CohortTransformer", "build_model"]
