"""One vectorized optimizer step (AdamW or SGD) for every member, with per-member settings.

AdamW (Loshchilov & Hutter 2019) is elementwise, so stacking members along axis 0 and giving
lr, weight decay and betas as `(E,)` tensors turns E optimizers into one. The update follows
torch.optim.AdamW exactly (decoupled decay `p *= 1 - lr*wd` before the Adam step), which a
test checks member by member.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

GradientTransform = Callable[[list[torch.Tensor]], list[torch.Tensor]]


def _per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    return values.view(-1, *[1] * (like.dim() - 1))  # (E, 1, ..., 1) to broadcast


def clip_by_member_norm(max_norm: float) -> GradientTransform:
    """Scale each member's gradient so its global L2 norm is at most max_norm.

    The norm is per member (summed over that member's slices of every parameter): clipping
    one member never touches another, unlike torch.nn.utils.clip_grad_norm_ on a cohort.
    """

    def transform(grads: list[torch.Tensor]) -> list[torch.Tensor]:
        sq = sum((g.pow(2).flatten(1).sum(1) for g in grads), torch.zeros(()))  # (E,)
        scale = (max_norm / (sq.sqrt() + 1e-6)).clamp(max=1.0)
        return [g * _per_member(scale, g) for g in grads]

    return transform


class _CohortOptimizer:
    """What AdamW and SGD share: the stacked parameters, the step counter, the warm-up and
    the gradient transforms applied before the update."""

    def __init__(self, params: Sequence[torch.nn.Parameter], lr: torch.Tensor,
                 warmup_steps: int, transforms: Sequence[GradientTransform]) -> None:
        self.params = list(params)
        self.lr, self.warmup_steps, self.transforms = lr, warmup_steps, list(transforms)
        self.t = 0

    def current_lr(self) -> torch.Tensor:
        """Learning rate of step t (1-based), after linear warm-up over warmup_steps."""
        if self.warmup_steps == 0:
            return self.lr
        return self.lr * min(1.0, self.t / self.warmup_steps)

    def _begin_step(self) -> tuple[list[torch.Tensor], torch.Tensor]:
        """Advance t; the transformed gradients (zeros where a parameter got none) and the lr."""
        self.t += 1
        grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in self.params]
        for transform in self.transforms:
            grads = transform(grads)
        return grads, self.current_lr()

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None


class CohortAdamW(_CohortOptimizer):
    """AdamW over stacked parameters `(E, ...)` with `(E,)` lr, weight decay, beta1, beta2."""

    def __init__(
        self,
        params: Sequence[torch.nn.Parameter],
        lr: torch.Tensor,
        weight_decay: torch.Tensor,
        beta1: torch.Tensor,
        beta2: torch.Tensor,
        eps: float = 1e-8,
        warmup_steps: int = 0,
        transforms: Sequence[GradientTransform] = (),
    ) -> None:
        super().__init__(params, lr, warmup_steps, transforms)
        self.weight_decay, self.beta1, self.beta2, self.eps = weight_decay, beta1, beta2, eps
        self.exp_avg = [torch.zeros_like(p) for p in self.params]
        self.exp_avg_sq = [torch.zeros_like(p) for p in self.params]

    @torch.no_grad()
    def step(self) -> None:
        grads, lr = self._begin_step()
        bias1 = 1 - self.beta1**self.t  # (E,)
        bias2_sqrt = (1 - self.beta2**self.t).sqrt()
        for p, g, m, v in zip(self.params, grads, self.exp_avg, self.exp_avg_sq, strict=True):
            p.mul_(1 - _per_member(lr * self.weight_decay, p))
            m.lerp_(g, _per_member(1 - self.beta1, p))
            v.mul_(_per_member(self.beta2, p)).add_(g * g * _per_member(1 - self.beta2, p))
            denom = (v.sqrt() / _per_member(bias2_sqrt, p)).add_(self.eps)
            p.sub_(m / denom * _per_member(lr / bias1, p))

    def state_dict(self) -> dict:
        return {"t": self.t, "exp_avg": self.exp_avg, "exp_avg_sq": self.exp_avg_sq}

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])
        saved = state["exp_avg"] + state["exp_avg_sq"]
        for dst, src in zip(self.exp_avg + self.exp_avg_sq, saved, strict=True):
            dst.copy_(src)


class CohortSGD(_CohortOptimizer):
    """SGD over stacked parameters with `(E,)` lr and weight decay, as torch.optim.SGD:
    g += wd * p; buf = momentum * buf + g (buf = g at the first step); p -= lr * buf.

    Kumar et al. 2024 grok with plain gradient descent and no regularization; AdamW's
    per-coordinate scaling would hide the output scale's effect on the learning speed.
    """

    def __init__(self, params: Sequence[torch.nn.Parameter], lr: torch.Tensor,
                 weight_decay: torch.Tensor, momentum: float = 0.0, warmup_steps: int = 0,
                 transforms: Sequence[GradientTransform] = ()) -> None:
        super().__init__(params, lr, warmup_steps, transforms)
        self.weight_decay, self.momentum = weight_decay, momentum
        self.buffers = [torch.zeros_like(p) for p in self.params] if momentum else []

    @torch.no_grad()
    def step(self) -> None:
        grads, lr = self._begin_step()
        for k, (p, g) in enumerate(zip(self.params, grads, strict=True)):
            g = g + p * _per_member(self.weight_decay, p)
            if self.momentum:
                buf = self.buffers[k]
                if self.t == 1:
                    buf.copy_(g)
                else:
                    buf.mul_(self.momentum).add_(g)
                g = buf
            p.sub_(g * _per_member(lr, p))

    def state_dict(self) -> dict:
        return {"t": self.t, "buffers": self.buffers}

    def load_state_dict(self, state: dict) -> None:
        self.t = int(state["t"])
        for dst, src in zip(self.buffers, state["buffers"], strict=True):
            dst.copy_(src)
