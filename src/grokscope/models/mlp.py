"""Cohort MLP: embed the operands (or read the features), hidden layers, linear readout."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from grokscope.models.cohort import (
    ACTIVATIONS,
    CohortModule,
    embed,
    fan_in_bound,
    linear,
    normal_init,
    uniform_init,
)


class CohortMLP(CohortModule):
    """E independent MLPs, trained as one batched model.

    Token inputs (Liu et al. 2022, Gromov 2023, Prieto et al. 2025 use variants of it): each
    of the T input tokens is embedded (N(0, 1), PyTorch's nn.Embedding default); the
    embeddings are concatenated (T*d inputs) or summed (d inputs, as a 2-hot input into a
    bias-free layer); `one_hot` feeds the concatenated one-hot tokens (T*V inputs) straight
    into the first hidden layer, with no embedding (Prieto et al. 2025's MLP). Feature
    inputs (`vocab_size=None`, `n_features` given): the first hidden layer reads the
    features (Carvalho et al. 2025: 117-200-200-4). Then `depth` hidden layers of `width`
    units and a linear readout. Linear layers use PyTorch's default
    U(-1/sqrt(fan_in), 1/sqrt(fan_in)) init.
    """

    embed: torch.Tensor  # (E, V, d), token tasks without one_hot
    w0: torch.Tensor  # (E, d_in, width)
    b0: torch.Tensor  # (E, width)
    w_out: torch.Tensor  # (E, width, C)
    b_out: torch.Tensor  # (E, C)

    def __init__(
        self,
        n_members: int,
        vocab_size: int | None,
        n_classes: int,
        n_tokens: int = 2,
        embed_dim: int = 128,
        width: int = 256,
        depth: int = 1,
        activation: str = "relu",
        combine: str = "concat",
        bias: bool = True,
        n_features: int | None = None,
    ) -> None:
        super().__init__(n_members)
        self.combine, self.depth, self.use_bias = combine, depth, bias
        self.act = ACTIVATIONS[activation]
        self.tokens, self.vocab_size = vocab_size is not None, vocab_size
        if self.tokens and combine == "one_hot":
            d_in = int(vocab_size) * n_tokens  # type: ignore[arg-type]
        elif self.tokens:
            self.add_param("embed", (vocab_size, embed_dim), normal_init(1.0))
            d_in = embed_dim * n_tokens if combine == "concat" else embed_dim
        else:
            d_in = int(n_features)
        for layer in range(depth):
            bound = fan_in_bound(d_in)
            self.add_param(f"w{layer}", (d_in, width), uniform_init(bound))
            if bias:
                self.add_param(f"b{layer}", (width,), uniform_init(bound), bias=True)
            d_in = width
        self.add_param("w_out", (d_in, n_classes), uniform_init(fan_in_bound(d_in)))
        if bias:
            self.add_param("b_out", (n_classes,), uniform_init(fan_in_bound(d_in)), bias=True)

    def first_layer_tables(self) -> torch.Tensor:
        """First-layer pre-activations per (slot, token): `(E, T*V, width)` (concat) or
        `(E, V, width)` (sum). Exact: layer 1 of an embedding is a sum over the input tokens
        of per-token terms, so it costs T*V rows instead of N. With one-hot inputs the first
        layer's weight is that table."""
        if self.combine == "one_hot":
            return self.w0
        dim = self.embed.shape[-1]
        if self.combine == "sum":
            return linear(self.embed, self.w0)
        w = self.w0.unflatten(1, (-1, dim))  # (E, T, d, width): one block per token slot
        return torch.cat([linear(self.embed, w[:, t]) for t in range(w.shape[1])], dim=1)

    def prepare(self) -> dict[str, torch.Tensor]:
        return {"first": self.first_layer_tables()} if self.tokens else {}

    def features(
        self, inputs: torch.Tensor, prepared: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Penultimate representation `(E, N, width)` of tokens `(E, N, T)` or features
        `(E, N, D)`."""
        if self.tokens:
            h = self._first_from_tables(inputs, prepared)
        else:
            h = linear(inputs, self.w0, self.b0 if self.use_bias else None)
        h = self.act(h)
        for layer in range(1, self.depth):
            b = getattr(self, f"b{layer}") if self.use_bias else None
            h = self.act(linear(h, getattr(self, f"w{layer}"), b))
        return h

    def _first_from_tables(
        self, tokens: torch.Tensor, prepared: dict[str, torch.Tensor] | None
    ) -> torch.Tensor:
        """First-layer pre-activation `(E, N, width)` gathered from `first_layer_tables`."""
        slots = torch.arange(tokens.shape[-1], device=tokens.device) * int(self.vocab_size or 0)
        index = tokens if self.combine == "sum" else tokens + slots
        tables = (prepared or self.prepare())["first"]
        h = embed(index, tables).sum(-2)  # (E, N, width)
        return h + self.b0.unsqueeze(1) if self.use_bias else h

    def input_layer(self, inputs: torch.Tensor) -> torch.Tensor:
        """What the first hidden layer reads `(E, N, D0)`: the combined token embeddings (or
        one-hot tokens), or the features. Probes of the input space (local complexity,
        centroid alignment) perturb or differentiate this, then call `from_input_layer`."""
        if not self.tokens:
            return inputs
        if self.combine == "one_hot":
            slots = torch.arange(inputs.shape[-1], device=inputs.device) * int(self.vocab_size)
            return F.one_hot(inputs + slots, self.w0.shape[1]).sum(-2).to(self.w0.dtype)
        vectors = embed(inputs, self.embed)  # (E, N, T, d)
        return vectors.flatten(-2) if self.combine == "concat" else vectors.sum(-2)

    def from_input_layer(self, h: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs `(E, N, C)` of an input-layer tensor, and every hidden layer's
        pre-activation `(E, N, width)`: the same function as `forward` (tested)."""
        pre = []
        for layer in range(self.depth):
            b = getattr(self, f"b{layer}") if self.use_bias else None
            pre.append(linear(h, getattr(self, f"w{layer}"), b))
            h = self.act(pre[-1])
        return linear(h, self.w_out, self.b_out if self.use_bias else None), pre

    def forward(
        self, tokens: torch.Tensor, prepared: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Logits `(E, N, C)`."""
        h = self.features(tokens, prepared)
        return linear(h, self.w_out, self.b_out if self.use_bias else None)
