"""Sharpness of the training loss per member: the top Hessian eigenvalue (power iteration on
Hessian-vector products) and optionally the Hessian trace (Hutchinson's estimator).

Flat minima are one proposed mark of the generalizing solution (grokking's sharpness drop,
e.g. Lyu et al. 2024; edge-of-stability views of slingshots, Thilak et al. 2022). Members
share no parameters, so the Hessian of the cohort's summed objective is block diagonal:
one Hessian-vector product of the cohort gives every member's own product at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch

Objective = Callable[[], torch.Tensor]


def _member_dot(xs: Sequence[torch.Tensor], ys: Sequence[torch.Tensor]) -> torch.Tensor:
    """Per-member inner product over parameter lists of `(E, ...)` tensors: `(E,)`."""
    return sum((x * y).flatten(1).sum(1) for x, y in zip(xs, ys, strict=True))


def _normalized(vs: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    norm = _member_dot(vs, vs).sqrt().clamp_min(1e-30)
    return [v / norm.view(-1, *[1] * (v.dim() - 1)) for v in vs]


def _hvp(objective: Objective, params: list[torch.Tensor]
         ) -> Callable[[list[torch.Tensor]], list[torch.Tensor]]:
    """A Hessian-vector product closure; the gradient graph is built once and reused."""
    grads = torch.autograd.grad(objective(), params, create_graph=True)

    def product(vs: list[torch.Tensor]) -> list[torch.Tensor]:
        return list(torch.autograd.grad(grads, params, grad_outputs=vs, retain_graph=True))

    return product


def member_random(params: Sequence[torch.Tensor], seeds: Sequence[int],
                  kind: str = "normal") -> list[torch.Tensor]:
    """Random vectors shaped like the parameters, member e's slice drawn from a generator
    seeded with `seeds[e]` alone: a member gets the same vector in any cohort."""
    out = [torch.empty_like(p) for p in params]
    for member, seed in enumerate(seeds):
        generator = torch.Generator().manual_seed(int(seed))
        for v, p in zip(out, params, strict=True):
            if kind == "normal":
                draw = torch.randn(p.shape[1:], generator=generator)
            else:  # rademacher
                draw = torch.randint(0, 2, p.shape[1:], generator=generator) * 2.0 - 1
            v[member] = draw.to(v)
    return out


def top_eigenvalue(objective: Objective, params: list[torch.Tensor],
                   start: list[torch.Tensor], iterations: int = 20) -> torch.Tensor:
    """Largest-magnitude Hessian eigenvalue per member `(E,)` by power iteration from `start`:
    the Rayleigh quotient v.Hv of the last iterate (exact for an eigenvector; converges at
    rate |lambda_2 / lambda_1| per iteration)."""
    hvp = _hvp(objective, params)
    vs = _normalized(start)
    value = torch.zeros(params[0].shape[0], dtype=params[0].dtype, device=params[0].device)
    for _ in range(iterations):
        hv = hvp(vs)
        value = _member_dot(vs, hv)
        vs = _normalized(hv)
    return value.detach()


def hessian_trace(objective: Objective, params: list[torch.Tensor],
                  probes: Sequence[list[torch.Tensor]]) -> torch.Tensor:
    """Hutchinson's unbiased trace estimate per member `(E,)`: mean of v.Hv over Rademacher
    probe vectors v (Hutchinson 1989); its variance is 2 sum_{i != j} H_ij^2 / len(probes)."""
    hvp = _hvp(objective, params)
    total = torch.zeros(params[0].shape[0], dtype=params[0].dtype, device=params[0].device)
    for vs in probes:
        total += _member_dot(vs, hvp(list(vs))).detach()
    return total / len(probes)
