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
- Under the causal mask the first position sees only itself, so its residual stream in every
  layer is a function of its token alone: with two or more layers it is computed once per
  vocabulary item (V rows, in `prepare`) and its keys and values are gathered per example;
  each example runs positions 1..T-1 only (~25% fewer FLOPs for 2 layers, `a b =`).
"""

from __future__ import annotations

import math
from typing import cast

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

    w_q: torch.Tensor  # parameters registered by add_param, `(E, ...)` each
    w_k: torch.Tensor
    w_v: torch.Tensor
    w_o: torch.Tensor
    w_in: torch.Tensor
    b_in: torch.Tensor
    w_out: torch.Tensor
    b_out: torch.Tensor
    ln1_g: torch.Tensor
    ln1_b: torch.Tensor
    ln2_g: torch.Tensor
    ln2_b: torch.Tensor

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
        self, index: torch.Tensor, rows: dict[str, torch.Tensor], queries: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """k, v gathered from token_tables at `index` `(E, N, T)` = position * V + token, and
        q at `queries` (the positions the block returns: `(E, N)` or `(E, N, S)`)."""
        q = embed(queries, rows["q"])
        k, v = embed(index, rows["k"]), embed(index, rows["v"])
        return self._heads(q), self._heads(k), self._heads(v)

    def forward(
        self,
        x: torch.Tensor,
        last_only: bool,
        qkv: tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None = None,
        prefix: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """x `(E, N, S, d)` -> `(E, N, S, d)`, or `(E, N, d)` at the last position if last_only.

        x is the residual at the last S of the T positions. Keys and values of the T - S
        earlier ones come in `prefix` (`(E, N, T - S, H, dh)` each). With `qkv` given (first
        block, see token_qkv), x is the residual at the positions the block returns (`(E, N,
        d)` if last_only), q covers them and k, v cover all T.
        """
        if qkv is None:
            h = layer_norm(x, self.ln1_g, self.ln1_b) if self.ln else x
            q = self._heads(linear(h[:, :, -1] if last_only else h, self.w_q))
            k = self._heads(linear(h, self.w_k))  # (E, N, S, H, dh)
            v = self._heads(linear(h, self.w_v))
            x = x[:, :, -1] if last_only else x
        else:
            q, k, v = qkv
        if prefix is not None:
            k, v = torch.cat([prefix[0], k], dim=2), torch.cat([prefix[1], v], dim=2)
        return self._mlp(x + linear(self.attend(q, k, v, last_only), self.w_o))

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor,
               last_only: bool) -> torch.Tensor:
        """Heads' outputs, flattened: `(E, N, d)` if last_only, else `(E, N, S, d)` for the
        last S = q.shape[2] of the T = k.shape[2] positions."""
        scale = 1 / math.sqrt(self.d_head)
        if last_only:  # q (E, N, H, dh): the last position sees every key
            scores = (q.unsqueeze(2) * k).sum(-1) * scale  # (E, N, T, H)
            return (scores.softmax(dim=2).unsqueeze(-1) * v).sum(2).flatten(-2)
        scores = (q.unsqueeze(3) * k.unsqueeze(2)).sum(-1) * scale  # (E, N, S, T, H)
        if self.causal:
            s, t = q.shape[2], k.shape[2]
            causal = torch.ones(s, t, dtype=torch.bool, device=k.device).tril(t - s)
            scores = scores.masked_fill(~causal[:, :, None], float("-inf"))
        return (scores.softmax(dim=3).unsqueeze(-1) * v.unsqueeze(2)).sum(3).flatten(-2)

    def first_position(self, x: torch.Tensor, last: bool) -> dict[str, torch.Tensor]:
        """The first position through this block for every token, x `(E, V, d)`: its keys
        and values (`k`, `v`), and unless `last` its output residual (`x`). Under the causal
        mask it attends to itself alone (softmax over one key = 1), so its heads return v."""
        h = layer_norm(x, self.ln1_g, self.ln1_b) if self.ln else x
        k, v = linear(h, self.w_k), linear(h, self.w_v)
        rows = {"k": k, "v": v}
        if not last:
            rows["x"] = self._mlp(x + linear(v, self.w_o))
        return rows


class CohortTransformer(CohortModule):
    """E independent decoder-only transformers reading `a b =`, predicting at `=`."""

    embed: torch.Tensor  # parameters registered by add_param, `(E, ...)` each
    pos: torch.Tensor
    unembed: torch.Tensor
    ln_f_g: torch.Tensor
    ln_f_b: torch.Tensor

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

    @property
    def stack(self) -> list[Block]:
        """The blocks, typed."""
        return cast("list[Block]", list(self.blocks))

    def prepare(self) -> dict[str, torch.Tensor]:
        """Weight-only tables, once per step: the first block's input and q, k, v for every
        (position, token), `(E, T*V, d)`; with two or more layers also, per later block i,
        the first position's keys and values for every token (`k0_i`, `v0_i`: `(E, V, d)`)."""
        n_members, _, d = self.embed.shape
        table = self.embed.unsqueeze(1) + self.pos.unsqueeze(2)  # (E, T, V, d): every input
        blocks = self.stack
        rows = {"x": table.reshape(n_members, -1, d), **blocks[0].token_tables(table)}
        if len(blocks) > 1:  # the first position's residual: a function of its token
            x = blocks[0].first_position(table[:, 0], last=False)["x"]
            for i, block in enumerate(blocks[1:], start=1):
                first = block.first_position(x, last=i == len(blocks) - 1)
                rows[f"k0_{i}"], rows[f"v0_{i}"] = first["k"], first["v"]
                x = first.get("x", x)
        return rows

    def features(
        self, tokens: torch.Tensor, prepared: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Residual stream at `=` after the last block, `(E, N, d)`, for tokens `(E, N, T)`."""
        rows = prepared or self.prepare()
        eq = torch.full_like(tokens[..., :1], self.eq_token)
        tokens = torch.cat([tokens, eq], dim=-1)  # (E, N, T)
        vocab = self.embed.shape[1]
        index = tokens + torch.arange(tokens.shape[-1], device=tokens.device) * vocab
        blocks = self.stack
        first = blocks[0]
        if len(blocks) == 1:  # one block, at the last position; keys over all T
            x = embed(index[..., -1], rows["x"])
            x = first(x, True, qkv=first.token_qkv(index, rows, index[..., -1]))
        else:  # positions 1..T-1 per example; the first comes from the tables
            later = index[..., 1:]
            qkv = first.token_qkv(index, rows, later)
            x = first(embed(later, rows["x"]), False, qkv=qkv)
            head = tokens[..., :1]  # the first position's token: its row in the V-row tables
            for i, block in enumerate(blocks[1:], start=1):
                prefix = (block._heads(embed(head, rows[f"k0_{i}"])),
                          block._heads(embed(head, rows[f"v0_{i}"])))
                x = block(x, last_only=i == len(blocks) - 1, prefix=prefix)
        return layer_norm(x, self.ln_f_g, self.ln_f_b) if self.ln else x

    def forward(
        self, tokens: torch.Tensor, prepared: dict[str, torch.Tensor] | None = None
    ) -> torch.Tensor:
        """Logits `(E, N, C)`."""
        return linear(self.features(tokens, prepared), self.unembed)
