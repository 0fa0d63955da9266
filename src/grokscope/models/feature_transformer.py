"""Cohort transformer over feature vectors cut into tokens (Carvalho et al. 2025's 2-layer model).

The paper gives no tokenization; ours (research notes, [OURS]): the 117 features are read as
9 tokens of 13 coordinates (one per bit-group), each mapped by a shared linear embedding plus
a learned position, followed by a class token. Attention is bidirectional; the class token,
placed last, is read out, so the final layer computes queries and MLP there only.
"""

from __future__ import annotations

import math

import torch

from grokscope.models.cohort import (
    CohortModule,
    constant_init,
    fan_in_bound,
    layer_norm,
    linear,
    normal_init,
    uniform_init,
)
from grokscope.models.transformer import Block


class CohortFeatureTransformer(CohortModule):
    """E independent encoders: features `(E, N, T*k)` -> logits `(E, N, C)`."""

    def __init__(
        self,
        n_members: int,
        n_classes: int,
        tokens: tuple[int, int],
        n_layers: int = 2,
        d_model: int = 128,
        n_heads: int = 4,
        d_mlp: int = 512,
        layer_norm: bool = True,
        activation: str = "relu",
    ) -> None:
        super().__init__(n_members)
        self.n_tokens, self.token_dim = tokens
        self.ln = layer_norm
        bound = fan_in_bound(self.token_dim)
        self.add_param("w_embed", (self.token_dim, d_model), uniform_init(bound))
        self.add_param("b_embed", (d_model,), uniform_init(bound))
        std = 1 / math.sqrt(d_model)
        self.add_param("pos", (self.n_tokens, d_model), normal_init(std))
        self.add_param("cls", (d_model,), normal_init(std))
        self.blocks = torch.nn.ModuleList(
            Block(n_members, d_model, n_heads, d_mlp, layer_norm, activation, causal=False)
            for _ in range(n_layers)
        )
        if layer_norm:
            self.add_param("ln_f_g", (d_model,), constant_init(1.0))
            self.add_param("ln_f_b", (d_model,), constant_init(0.0))
        self.add_param("unembed", (d_model, n_classes), normal_init(std))

    def features(self, x: torch.Tensor, prepared: dict | None = None) -> torch.Tensor:
        """Class-token residual after the last block, `(E, N, d)`."""
        n_members, n = x.shape[:2]
        parts = x.unflatten(-1, (self.n_tokens, self.token_dim))  # (E, N, T, k)
        h = linear(parts, self.w_embed, self.b_embed) + self.pos.unsqueeze(1)  # (E, N, T, d)
        cls = self.cls[:, None, None, :].expand(n_members, n, 1, -1)
        h = torch.cat([h, cls], dim=2)  # (E, N, T+1, d): class token last
        for i, block in enumerate(self.blocks):
            h = block(h, last_only=i == len(self.blocks) - 1)
        return layer_norm(h, self.ln_f_g, self.ln_f_b) if self.ln else h

    def forward(self, x: torch.Tensor, prepared: dict | None = None) -> torch.Tensor:
        return linear(self.features(x, prepared), self.unembed)
