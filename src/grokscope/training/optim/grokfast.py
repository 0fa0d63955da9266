"""Grokfast (Lee et al. 2024, "Grokfast: Accelerated Grokking by Amplifying Slow Gradients",
`ironjr/grokfast/grokfast.py`): low-pass filter the gradient and add the slow component back,
amplified, before the optimizer sees it: g <- g + lamb * lowpass(g).

Semantics follow the public code, not the paper's prose: the EMA starts at the first gradient;
the moving average includes the current gradient and adds nothing until its window is full;
the optional two-stage trigger (`main.py --two_stage`) keeps the filter off for a first
stretch of steps while the window fills. Settings are `(E,)`, so lamb = 0 is a baseline
member beside filtered ones.
"""

from __future__ import annotations

import torch

from grokscope.training.optim.base import State, per_member


class GrokfastEMA:
    """h <- alpha h + (1 - alpha) g (h = g before the first step), g <- g + lamb h."""

    def __init__(self, alpha: torch.Tensor, lamb: torch.Tensor) -> None:
        self.alpha, self.lamb = alpha, lamb

    def init(self, params: list[torch.Tensor]) -> State:
        return {"ema": [torch.zeros_like(p) for p in params]}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        first = step == 1  # a tensor, not a Python branch: a compiled step stays one graph
        out = []
        for g, h in zip(updates, state["ema"], strict=True):
            h.copy_(torch.where(first, g, h))
            h.lerp_(g, per_member(1 - self.alpha, g))  # alpha h + (1 - alpha) g, one pass
            out.append(torch.addcmul(g, h, per_member(self.lamb, g)))
        return out, state


class GrokfastMA:
    """g <- g + lamb * mean(last `window` gradients, this one included), once `window` are
    held and after step `off_until` (the two-stage trigger; 0: off).

    The window is a ring buffer `(E, window, ...)` per parameter with a running sum,
    recomputed exactly each time the ring wraps: O(1) work per step instead of the code's
    O(window), with float drift bounded to one lap.

    Its ring position is a Python int (unlike the other links' tensor step), so a compiled
    update holding it would specialize on that position: `traceable = False` keeps the
    update of a chain holding it eager under the compile backend."""

    traceable = False

    def __init__(self, window: int, lamb: torch.Tensor, off_until: int = 0) -> None:
        self.window, self.lamb, self.off_until = window, lamb, off_until

    def init(self, params: list[torch.Tensor]) -> State:
        return {"ring": [torch.zeros(p.shape[0], self.window, *p.shape[1:], dtype=p.dtype,
                                     device=p.device) for p in params],
                "sum": [torch.zeros_like(p) for p in params],
                "held": torch.zeros((), dtype=torch.int64)}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        held = int(state["held"])
        slot, full_before = held % self.window, held >= self.window
        held += 1
        state["held"].fill_(held)
        wrapped = held % self.window == 0
        active = held >= self.window and int(step) > self.off_until
        out = []
        for g, ring, total in zip(updates, state["ring"], state["sum"], strict=True):
            if full_before:
                total.sub_(ring[:, slot])
            ring[:, slot] = g
            if wrapped:
                torch.sum(ring, dim=1, out=total)
            else:
                total.add_(g)
            if active:
                g = torch.addcmul(g, total, per_member(self.lamb / self.window, g))
            out.append(g)
        return out, state
