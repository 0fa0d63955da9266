"""Cohort decoder-only transformer for `a b =` inputs (Power et al. 2022, Nanda et al. 2023).

Three exact shortcuts, each tested against the naive computation:
- Attention is written out by hand: with 3 tokens, PyTorch's fused attention is ~10x slower
  and breaks under vmap/compile (measured, research/anchors.md).
- The last layer computes queries, MLP and unembedding at the `=` position only, since only
  that position feeds the logits; keys and values still cover every position (~2.2x fewer
  FLOPs).
- The first layer's input at a position is a function of (position, token) alone, so its
  queries, keys and values are computed once per vocabulary item and position (T*V rows)
  and gathered per example, instead of projected for every example (N*T rows).
"""

from __future__ import annotations

import math

import torch

from grokscope.models.cohort import (
    ACTIVATIONS,
    CohortModule,
    constant_init,
    embed,
    layer_norm,
    linear,
    normal_init,
)


class Block(CohortModule):
    """Attention + MLP residual block, weights as in Nanda et al. 2023 (N(0, 1/fan_in))."""

    def __init__(
        self, n_members: int, d_model: int, n_heads: int, d_mlp: int, ln: bool, act: str,
        causal: bool = True,
    ) -> None:
        super().__init__(n_members)
        self.n_heads, self.d_head, self.ln, self.causal = n_heads, d_model // n_heads, ln, causal
        self.act = ACTIVATIONS[act]
        std = 1 / math.sqrt(d_model)
        for name in ("w_q", "w_k", "w_v", "w_o"):
            self.add_param(name, (d_model, d_model), normal_init(std))
        self.add_param("w_in", (d_model, d_mlp), normal_init(std))
        self.add_param("b_in", (d_mlp,), constant_init(0.0))
        self.add_param("w_out", (d_mlp, d_model), normal_init(1 / math.sqrt(d_mlp)))
        self.add_param("b_out", (d_model,), constant_init(0.0))
        if ln:
            for name in ("ln1", "ln2"):
                self.add_param(f"{name}_g", (d_model,), constant_init(1.0))
                self.add_param(f"{name}_b", (d_model,), constant_init(0.0))

    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        return x.unflatten(-1, (self.n_heads, self.d_head))  # (..., H, dh)

    def _mlp(self, x: torch.Tensor) -> torch.Tensor:
        h = layer_norm(x, self.ln2_g, self.ln2_b) if self.ln else x
        return x + linear(self.act(linear(h, self.w_in, self.b_in)), self.w_out, self.b_out)

    def token_tables(self, table: torch.Tensor) -> dict[str, torch.Tensor]:
        """q, k, v rows of a first block for every (position, token): `(E, T*V, d)` each,
        from its input table `(E, T, V, d)`."""
        h = layer_norm(table, self.ln1_g, self.ln1_b) if self.ln else table
        n_members, t, vocab, d = h.shape
        return {name: linear(h, getattr(self, f"w_{name}")).reshape(n_members, t * vocab, d)
                for name in ("q", "k", "v")}

    def token_qkv(
        self, index: torch.Tensor, rows: dict[str, torch.Tensor], last_only: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """q, k, v gathered from token_tables at `index` `(E, N, T)` = position * V + token."""
        q = embed(index[..., -1] if last_only else index, rows["q"])
        k, v = embed(index, rows["k"]), embed(index, rows["v"])
        return self._heads(q), self._heads(k), self._heads(v)

    def forward(
        self,
        x: torch.Tensor,
        last_only: bool,
        qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x `(E, N, T, d)` -> `(E, N, T, d)`, or `(E, N, d)` at the last position if last_only.

        With `qkv` given (first block, see token_qkv), x is the residual at the positions
        the block returns: `(E, N, d)` if last_only, else `(E, N, T, d)`.
        """
        if qkv is None:
            h = layer_norm(x, self.ln1_g, self.ln1_b) if self.ln else x
            q = self._heads(linear(h[:, :, -1] if last_only else h, self.w_q))
            k = self._heads(linear(h, self.w_k))  # (E, N, T, H, dh)
            v = self._heads(linear(h, self.w_v))
            x = x[:, :, -1] if last_only else x
        else:
            q, k, v = qkv
        scale = 1 / math.sqrt(self.d_head)
        if last_only:  # q (E, N, H, dh): the last position sees every key
            scores = (q.unsqueeze(2) * k).sum(-1) * scale  # (E, N, T, H)
            z = (scores.softmax(dim=2).unsqueeze(-1) * v).sum(2)  # (E, N, H, dh)
        else:
            scores = (q.unsqueeze(3) * k.unsqueeze(2)).sum(-1) * scale  # (E, N, Tq, Tk, H)
            if self.causal:
                t = k.shape[2]
                causal = torch.ones(t, t, dtype=torch.bool, device=k.device).tril()
                scores = scores.masked_fill(~causal[:, :, None], float("-inf"))
            z = (scores.softmax(dim=3).unsqueeze(-1) * v.unsqueeze(2)).sum(3)  # (E, N, Tq, H, dh)
        return self._mlp(x + linear(z.flatten(-2), self.w_o))


class CohortTransformer(CohortModule):
    """E independent decoder-only transformers reading `a b =`, predicting at `=`."""

    def __init__(
        self,
        n_members: int,
        vocab_size: int,
        n_classes: int,
        n_tokens: int = 2,
        n_layers: int = 1,
        d_model: int = 128,
        n_heads: int = 4,
        d_mlp: int = 512,
        layer_norm: bool = False,
        activation: str = "relu",
    ) -> None:
        super().__init__(n_members)
        self.eq_token, self.ln = vocab_size, layer_norm  # `=` gets the id after the operands
        self.add_param("embed", (vocab_size + 1, d_model), normal_init(1 / math.sqrt(d_model)))
        self.add_param("pos", (n_tokens + 1, d_model), normal_init(1 / math.sqrt(d_model)))
        self.blocks = torch.nn.ModuleList(
            Block(n_members, d_model, n_heads, d_mlp, layer_norm, activation)
            for _ in range(n_layers)
        )
        if layer_norm:
            self.add_param("ln_f_g", (d_model,), constant_init(1.0))
            self.add_param("ln_f_b", (d_model,), constant_init(0.0))
        self.add_param("unembed", (d_model, n_classes), normal_init(1 / math.sqrt(d_model)))

    def prepare(self) -> dict[str, torch.Tensor]:
        """The first block's input and q, k, v for every (position, token): `(E, T*V, d)`."""
        n_members, vocab, d = self.embed.shape
        table = self.embed.unsqueeze(1) + self.pos.unsqueeze(2)  # (E, T, V, d): every input
        return {"x": table.reshape(n_members, -1, d), **self.blocks[0].token_tables(table)}

    def features(
        self, tokens: torch.Tensor, prepared: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Residual stream at `=` after the last block, `(E, N, d)`, for tokens `(E, N, T)`."""
        rows = prepared or self.prepare()
        eq = torch.full_like(tokens[..., :1], self.eq_token)
        tokens = torch.cat([tokens, eq], dim=-1)  # (E, N, T)
        vocab = self.embed.shape[1]
        index = tokens + torch.arange(tokens.shape[-1], device=tokens.device) * vocab
        last_only = len(self.blocks) == 1
        x = embed(index[..., -1] if last_only else index, rows["x"])  # residual the block returns
        first = self.blocks[0]
        x = first(x, last_only, qkv=first.token_qkv(index, rows, last_only))
        for i, block in enumerate(self.blocks[1:], start=1):
            x = block(x, last_only=i == len(self.blocks) - 1)
        return layer_norm(x, self.ln_f_g, self.ln_f_b) if self.ln else x

    def forward(
        self, tokens: torch.Tensor, prepared: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Logits `(E, N, C)`."""
        return linear(self.features(tokens, prepared), self.unembed)
