"""The links of the optimizer chain. Each cites where its rule comes from; settings that may
differ per member are `(E,)` tensors, and every state tensor keeps the member axis first."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from grokscope.training.optim.base import State, per_member


class ClipByMemberNorm:
    """Scale each member's gradient so its global L2 norm is at most `max_norm`.

    The norm is per member (summed over that member's slices of every parameter): clipping
    one member never touches another, unlike torch.nn.utils.clip_grad_norm_ on a cohort.
    """

    def __init__(self, max_norm: float) -> None:
        self.max_norm = max_norm

    def init(self, params: list[torch.Tensor]) -> State:
        return {}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        return clip_by_member_norm(self.max_norm)(updates), state


def clip_by_member_norm(max_norm: float):  # noqa: ANN201 - a plain function of the gradients
    """The clipping rule as a function of the gradients (what `ClipByMemberNorm` applies)."""

    def clip(grads: list[torch.Tensor]) -> list[torch.Tensor]:
        sq = sum((g.pow(2).flatten(1).sum(1) for g in grads), torch.zeros(()))  # (E,)
        scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
        return [g * per_member(scale, g) for g in grads]

    return clip


class ScaleByParameter:
    """Each parameter's update times its own per-member factor; before SGD's step size this
    is a per-layer learning rate (Heckel & Yilmaz 2021). `factors` is `(E, P)` (one column
    per parameter, the member axis first so that a stopped member's row drops); `scaled`
    says which columns to apply, the others passing through untouched."""

    def __init__(self, factors: torch.Tensor, scaled: Sequence[bool]) -> None:
        self.factors, self.scaled = factors, tuple(scaled)

    def init(self, params: list[torch.Tensor]) -> State:
        return {}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        return [u * per_member(self.factors[:, k], u) if self.scaled[k] else u
                for k, u in enumerate(updates)], state


class ScaleByAdam:
    """Adam's direction m / (sqrt(v_hat) + eps) (Kingma & Ba 2015), as torch.optim.Adam(W)
    computes it; `b1`, `b2` per member. The first moment's bias correction 1 - b1^t folds
    into the step size (`ScaleByLearningRate(..., bias_correction=b1)`), as torch does, so
    the arithmetic is torch's to the last bit."""

    def __init__(self, b1: torch.Tensor, b2: torch.Tensor, eps: float = 1e-8) -> None:
        self.b1, self.b2, self.eps = b1, b2, eps

    def init(self, params: list[torch.Tensor]) -> State:
        return {"exp_avg": [torch.zeros_like(p) for p in params],
                "exp_avg_sq": [torch.zeros_like(p) for p in params]}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        bias2_sqrt = (1 - self.b2 ** step).sqrt()  # (E,); step a tensor: nothing recompiles
        out = []
        for g, m, v in zip(updates, state["exp_avg"], state["exp_avg_sq"], strict=True):
            m.lerp_(g, per_member(1 - self.b1, g))
            v.mul_(per_member(self.b2, g)).add_(g * g * per_member(1 - self.b2, g))
            denom = (v.sqrt() / per_member(bias2_sqrt, g)).add_(self.eps)
            out.append(m / denom)
        return out, state


class AddDecayedWeights:
    """updates + wd * params: weight decay added to the gradient (L2 regularization, as
    torch.optim.SGD and Adam apply `weight_decay`); `wd` per member."""

    def __init__(self, weight_decay: torch.Tensor) -> None:
        self.weight_decay = weight_decay

    def init(self, params: list[torch.Tensor]) -> State:
        return {}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        return [u + p * per_member(self.weight_decay, p)
                for u, p in zip(updates, params, strict=True)], state


class DecoupledWeightDecay:
    """Decoupled weight decay (AdamW, Loshchilov & Hutter 2019): params *= 1 - lr_t * wd,
    in place, before the update is added. Mathematically the same as adding wd * params to
    the update before the learning rate; multiplying first is torch.optim.AdamW's arithmetic,
    bit for bit. `wd` per member; `lr` is the chain's learning-rate link (warm-up included)."""

    def __init__(self, weight_decay: torch.Tensor, lr: ScaleByLearningRate) -> None:
        self.weight_decay, self.lr = weight_decay, lr

    def init(self, params: list[torch.Tensor]) -> State:
        return {}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        decay = self.lr.rate(step) * self.weight_decay  # (E,)
        for p in params:
            p.mul_(1 - per_member(decay, p))
        return updates, state


class Trace:
    """Heavy-ball momentum as torch.optim.SGD: buf = g at the first step, then
    momentum * buf + g (from a zero buffer, the first step is the same rule)."""

    def __init__(self, momentum: float) -> None:
        self.momentum = momentum

    def init(self, params: list[torch.Tensor]) -> State:
        return {"buffers": [torch.zeros_like(p) for p in params]}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        for buf, g in zip(state["buffers"], updates, strict=True):
            buf.mul_(self.momentum).add_(g)  # the buffer starts at 0: g exactly at step 1
        return list(state["buffers"]), state


class ScaleByLearningRate:
    """-step_size * updates, step_size = lr_t / (1 - b1^t) with Adam's bias correction (when
    `bias_correction` holds b1) or lr_t; lr_t follows a linear warm-up over `warmup_steps`
    (Power et al. use 10). `lr` per member."""

    def __init__(self, lr: torch.Tensor, warmup_steps: int = 0,
                 bias_correction: torch.Tensor | None = None) -> None:
        self.lr, self.warmup_steps, self.b1 = lr, warmup_steps, bias_correction

    def rate(self, step: torch.Tensor) -> torch.Tensor:
        """The learning rate `(E,)` at `step` (1-based)."""
        if self.warmup_steps == 0:
            return self.lr
        return self.lr * (step / self.warmup_steps).clamp(max=1.0)

    def init(self, params: list[torch.Tensor]) -> State:
        return {}

    def update(self, updates: list[torch.Tensor], state: State, params: list[torch.Tensor],
               step: torch.Tensor) -> tuple[list[torch.Tensor], State]:
        size = self.rate(step)
        if self.b1 is not None:
            size = size / (1 - self.b1 ** step)
        return [u * per_member(-size, u) for u in updates], state
