"""Models: cohort-vectorized MLP and transformer; every parameter has a leading member axis."""

from __future__ import annotations

from grokscope.config import MLPConfig, TransformerConfig
from grokscope.config.components import MODELS
from grokscope.errors import ConfigError
from grokscope.models.cohort import CohortModule
from grokscope.models.feature_transformer import CohortFeatureTransformer
from grokscope.models.mlp import CohortMLP
from grokscope.models.transformer import CohortTransformer
from grokscope.tasks.base import TaskData


def build_model(
    config: MLPConfig | TransformerConfig, task: TaskData, n_members: int
) -> CohortModule:
    """An uninitialised cohort model shaped for the task (call `.initialize(seeds, scales)`),
    by the builder its settings class registered (`grokscope.config.components`)."""
    return MODELS.get(config.name, where="model.name").builder()(config, task, n_members)


def _mlp(config: MLPConfig, task: TaskData, n_members: int) -> CohortModule:
    if task.kind == "features":
        return _feature_model(config, task, n_members)
    return CohortMLP(n_members=n_members, vocab_size=task.vocab_size, n_classes=task.n_classes,
                     n_tokens=task.inputs.shape[1], embed_dim=config.embed_dim,
                     width=config.width, depth=config.depth, activation=config.activation,
                     combine=config.combine, bias=config.bias)


def _transformer(config: TransformerConfig, task: TaskData, n_members: int) -> CohortModule:
    if task.kind == "features":
        return _feature_model(config, task, n_members)
    return CohortTransformer(n_members=n_members, vocab_size=task.vocab_size,
                             n_classes=task.n_classes, n_tokens=task.inputs.shape[1],
                             n_layers=config.n_layers, d_model=config.d_model,
                             n_heads=config.n_heads, d_mlp=config.d_mlp,
                             layer_norm=config.layer_norm, activation=config.activation)


def _feature_model(
    config: MLPConfig | TransformerConfig, task: TaskData, n_members: int
) -> CohortModule:
    n_features = task.inputs.shape[1]
    if isinstance(config, MLPConfig):
        return CohortMLP(n_members, None, task.n_classes, width=config.width, depth=config.depth,
                         activation=config.activation, bias=config.bias, n_features=n_features)
    tokens = task.meta.get("tokens")
    if not tokens or tokens[0] * tokens[1] != n_features:
        raise ConfigError(f"model 'transformer': task '{task.name}' has no token layout for its "
                          f"{n_features} features (allowed models: mlp)")
    return CohortFeatureTransformer(
        n_members, task.n_classes, tuple(tokens), n_layers=config.n_layers,
        d_model=config.d_model, n_heads=config.n_heads, d_mlp=config.d_mlp,
        layer_norm=config.layer_norm, activation=config.activation)


__all__ = ["CohortFeatureTransformer", "CohortMLP", "CohortModule", "CohortTransformer",
           "build_model"]
