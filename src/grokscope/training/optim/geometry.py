"""Links that act on the geometry of the weights: the gradient's component along them
(Prieto et al. 2025, ⊥Grad) and their global norm (Omnigrok, Liu et al. 2023)."""

from __future__ import annotations

import torch

from grokscope.training.optim.base import State, per_member

TINY = 1e-30  # Prieto et al.'s guard in both denominators (orthograd.py)


class PerpGrad:
    """⊥Grad (Prieto et al. ICLR 2025, "Grokking at the edge of numerical stability",
    `orthograd.py`): per parameter tensor and per member, remove the gradient's component
    along the weights, g_perp = g - (w.g / w.w) w, so the update cannot just scale the
    logits up (naive loss minimization). `rescale` (the code) then restores |g|; without it,
    the projection alone (the paper's Eq. 5)."""

    def __init__(self, rescale: bool = True) -> None:
        self.rescale = rescale

    def init(self, params: list[torch.Tensor]) -> State:
        return {}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        out = []
        for g, w in zip(updates, params, strict=True):
            gf, wf = g.flatten(1), w.flatten(1)
            proj = torch.linalg.vecdot(wf, gf) / (torch.linalg.vecdot(wf, wf) + TINY)  # (E,)
            perp = torch.addcmul(gf, wf, per_member(-proj, wf))
            if self.rescale:
                scale = torch.linalg.vector_norm(gf, dim=1) / (
                    torch.linalg.vector_norm(perp, dim=1) + TINY)
                perp.mul_(per_member(scale, perp))
            out.append(perp.view_as(g))
        return out, state


def member_norms(params: list[torch.Tensor]) -> torch.Tensor:
    """Global L2 norm `(E,)` of each member's parameters."""
    norms = torch.stack([torch.linalg.vector_norm(p.detach().flatten(1), dim=1)
                         for p in params])  # (n_params, E)
    return torch.linalg.vector_norm(norms, dim=0)


class NormConstraint:
    """Omnigrok (Liu et al. ICLR 2023, mod-addition notebook): after every update, rescale
    all of a member's parameters together to a fixed global norm, `factor` times its norm at
    the start of training, so weight decay's slow walk to the "Goldilocks" norm is skipped.
    The target is state: resumed runs keep the norm they started from."""

    def __init__(self, factor: torch.Tensor) -> None:
        self.factor = factor

    def init(self, params: list[torch.Tensor]) -> State:
        return {"target": member_norms(params) * self.factor}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        return updates, state

    def after_step(self, params: list[torch.Tensor], state: State, step: torch.Tensor) -> None:
        scale = state["target"] / member_norms(params)
        for p in params:
            p.mul_(per_member(scale, p))
