"""A toy gradient transform, registered from outside grokscope's own files: its settings,
its link and one `@TRANSFORMS.register` are all it takes."""

from __future__ import annotations

from typing import Any

import torch

from grokscope.config.transforms import TRANSFORMS, TransformSpec


class ToyEma:
    """g + lamb * EMA(g): a slow-gradient amplifier in the spirit of Grokfast; state kept in
    the chain, so the checkpoint carries it with no code here."""

    def __init__(self, alpha: float, lamb: float) -> None:
        self.alpha, self.lamb = alpha, lamb

    def init(self, params: list[torch.Tensor]) -> dict[str, Any]:
        return {"ema": [torch.zeros_like(p) for p in params]}

    def update(self, updates, state, params, step):
        out = []
        for g, ema in zip(updates, state["ema"], strict=True):
            ema.mul_(self.alpha).add_(g, alpha=1 - self.alpha)
            out.append(g + self.lamb * ema)
        return out, state


@TRANSFORMS.register("toy_ema", "test only: gradient plus lamb times its running average")
class ToyEmaSpec(TransformSpec):
    name: str = "toy_ema"
    alpha: float = 0.9
    lamb: float = 2.0

    def build(self, n_members: int, device: Any) -> ToyEma:
        return ToyEma(self.alpha, self.lamb)
