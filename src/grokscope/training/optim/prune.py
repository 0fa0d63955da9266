"""Lottery-ticket training (Frankle & Carbin 2019): pruned weights are zero from step 0 and
stay zero. Minegishi et al. (2024, "Grokking Tickets") prune the *generalized* weights by
global magnitude, rewind the rest to their step-0 values and retrain: the ticket groks
several times sooner than the dense net. The controls they compare against (a random mask,
pruning at init, a dense net rescaled to the ticket's norm) are masks and rescalings too, so
all of them are this one link."""

from __future__ import annotations

import torch

from grokscope.training.optim.base import State


def magnitude_mask(weights: list[torch.Tensor], keep: float,
                   scope: str = "global") -> list[torch.Tensor]:
    """One-shot magnitude pruning of one member: the `keep` share of the largest |w| over
    every tensor together stays (`global`, Minegishi et al.'s scope), or of each tensor on
    its own (`layer`: no layer can lose all its weights, which global pruning does to a
    layer drawn at a smaller scale than the others). Ties are broken by position, so the
    count is exact."""
    if scope == "layer":
        return [magnitude_mask([w], keep)[0] for w in weights]
    flat = torch.cat([w.abs().flatten() for w in weights])
    chosen = torch.zeros(flat.numel(), dtype=torch.bool)
    chosen[flat.topk(kept_count(flat.numel(), keep)).indices] = True
    return _unflatten(chosen, weights)


def random_mask(weights: list[torch.Tensor], keep: float,
                generator: torch.Generator) -> list[torch.Tensor]:
    """The same number of weights kept, at uniformly random places (the random-ticket
    control)."""
    total = sum(w.numel() for w in weights)
    chosen = torch.zeros(total, dtype=torch.bool)
    chosen[torch.randperm(total, generator=generator)[:kept_count(total, keep)]] = True
    return _unflatten(chosen, weights)


def kept_count(total: int, keep: float) -> int:
    return max(1, round(keep * total))


def _unflatten(chosen: torch.Tensor, like: list[torch.Tensor]) -> list[torch.Tensor]:
    out, start = [], 0
    for w in like:
        out.append(chosen[start:start + w.numel()].view(w.shape))
        start += w.numel()
    return out


class Prune:
    """Zero the pruned weights at init and every update after (their gradients are masked,
    so Adam's moments there stay zero, as under torch.nn.utils.prune); `masks` holds one
    `(E, ...)` bool tensor per parameter (None: not pruned). `scales` (`(E,)`, or None)
    multiplies the pruned-set parameters at init: the dense control rescaled to a ticket's
    norm. On resume the checkpoint's weights replace what `init` set."""

    def __init__(self, masks: list[torch.Tensor | None], scales: torch.Tensor | None) -> None:
        self.masks, self.scales = masks, scales

    def init(self, params: list[torch.Tensor]) -> State:
        with torch.no_grad():
            for p, m in zip(params, self.masks, strict=True):
                if m is None:
                    continue
                if m.shape != p.shape:
                    raise ValueError(f"masks: shape {tuple(m.shape)} does not fit a parameter "
                                     f"of shape {tuple(p.shape)} (the source's model differs)")
                if self.scales is not None:
                    p.mul_(self.scales.view(-1, *[1] * (p.dim() - 1)).to(p.dtype))
                p.mul_(m)
        return {}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        return [u if m is None else u * m for u, m in zip(updates, self.masks, strict=True)], \
            state

    def after_step(self, params: list[torch.Tensor], state: State, step: torch.Tensor) -> None:
        with torch.no_grad():  # a link after this one (a weight decay) cannot revive them
            for p, m in zip(params, self.masks, strict=True):
                if m is not None:
                    p.mul_(m)
