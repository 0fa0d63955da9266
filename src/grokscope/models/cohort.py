"""Cohort building blocks: parameters with a leading member axis and per-member init.

Every parameter has shape `(E, ...)`. A member's initial values are drawn from a generator
seeded with that member's seed only, in a fixed parameter order, so member k of any cohort is
initialised exactly as the same member trained alone.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from grokscope.errors import ConfigError

Init = Callable[[torch.Generator, tuple[int, ...]], torch.Tensor]


def uniform_init(bound: float) -> Init:
    """U(-bound, bound): PyTorch's nn.Linear default uses bound = 1/sqrt(fan_in)."""
    return lambda g, shape: (torch.rand(shape, generator=g) * 2 - 1) * bound


def normal_init(std: float) -> Init:
    return lambda g, shape: torch.randn(shape, generator=g) * std


def constant_init(value: float) -> Init:
    return lambda g, shape: torch.full(shape, float(value))


class CohortModule(nn.Module):
    """An nn.Module whose parameters carry a member axis and an init rule each."""

    def __init__(self, n_members: int) -> None:
        super().__init__()
        self.n_members = n_members
        self._inits: dict[str, Init] = {}
        self._biases: set[str] = set()

    def add_param(self, name: str, shape: Sequence[int], init: Init, bias: bool = False) -> None:
        """Register a member-stacked parameter and its init rule; `bias` marks an additive
        offset, which `initialize(..., scale_biases=False)` leaves at its unscaled draw."""
        self.register_parameter(name, nn.Parameter(torch.empty(self.n_members, *shape)))
        self._inits[name] = init
        if bias:
            self._biases.add(name)

    @torch.no_grad()
    def select(self, keep: torch.Tensor) -> None:
        """Keep members `keep` (indices) of every parameter: the member axis shrinks, so the
        members that stopped cost nothing more."""
        for module in self.modules():
            if isinstance(module, CohortModule):
                module.n_members = len(keep)
                for name, param in list(module.named_parameters(recurse=False)):
                    module.register_parameter(name, nn.Parameter(param.detach()[keep].clone()))

    def prepare(self) -> dict[str, torch.Tensor]:
        """Per-step tensors that depend on the weights only, not on the examples.

        Computed once per step and shared by every chunk of examples (`forward(x, prepared)`),
        so cutting a batch into cache-sized chunks never repeats them. Empty by default.
        """
        return {}

    def features(self, x: torch.Tensor, prepared: dict | None = None) -> torch.Tensor:
        """The penultimate representation `(E, n, d)` (what probes of representations read);
        every model defines it."""
        raise NotImplementedError

    def initialize(self, seeds: Sequence[int], init_scales: Sequence[float],
                   scale_biases: bool = True,
                   param_scales: Mapping[str, float] | None = None) -> None:
        """Draw every member's parameters from its own seed, times its init scale alpha.

        Omnigrok (Liu et al. 2023) scales *all* initial weights by alpha; so do we, unless
        `scale_biases` is False: then the biases keep their unscaled draw (Carvalho et al.
        2025 "multiply all the weights", which may or may not include biases). The draws are
        the same either way, so the two differ in the biases only. `param_scales` multiplies
        named parameters' draws further (Heckel & Yilmaz 2021 scale each layer's init on its
        own: the readout x 0.01 makes the two layers learn at different times).
        """
        named = [
            (module, name, param)
            for module in self.modules()
            if isinstance(module, CohortModule)
            for name, param in module.named_parameters(recurse=False)
        ]
        extra = dict(param_scales or {})
        unknown = sorted(set(extra) - {name for _, name, _ in named})
        if unknown:
            raise ConfigError(f"model.param_scales: {', '.join(unknown)} is not a parameter of "
                              f"this model (allowed: {', '.join(n for _, n, _ in named)})")
        with torch.no_grad():
            for member, (seed, scale) in enumerate(zip(seeds, init_scales, strict=True)):
                generator = torch.Generator().manual_seed(int(seed))
                for module, name, param in named:
                    value = module._inits[name](generator, tuple(param.shape[1:]))
                    keep = name in module._biases and not scale_biases
                    factor = extra.get(name, 1.0) * (1.0 if keep else float(scale))
                    param[member].copy_(value if factor == 1.0 else value * factor)


def linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """Per-member affine map: x `(E, ..., i)`, weight `(E, i, o)`, bias `(E, o)` -> `(E, ..., o)`.

    One batched GEMM (bmm/baddbmm) serves every member: E small matmuls at one dispatch cost.
    """
    n_members, d_in = x.shape[0], x.shape[-1]
    flat = x.reshape(n_members, -1, d_in)  # (E, M, i)
    if bias is None:
        out = torch.bmm(flat, weight)
    else:
        out = torch.baddbmm(bias.unsqueeze(1), flat, weight)
    return out.reshape(*x.shape[:-1], weight.shape[-1])


def embed(tokens: torch.Tensor, table: torch.Tensor) -> torch.Tensor:
    """Per-member lookup: tokens `(E, N, T)` into table `(E, V, d)` -> `(E, N, T, d)`."""
    n_members, vocab, dim = table.shape
    offset = torch.arange(n_members, device=tokens.device).view(-1, *[1] * (tokens.dim() - 1))
    # index_select, not F.embedding: the same rows, and its backward (index_add_) is ~2x
    # faster on CPU than embedding's dense backward (measured: 1.2 vs 2.0 ms, quick-start)
    flat = (tokens + offset * vocab).flatten()
    rows = table.reshape(n_members * vocab, dim).index_select(0, flat)
    return rows.view(*tokens.shape, dim)


def layer_norm(x: torch.Tensor, gain: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """LayerNorm with per-member affine parameters `(E, d)`."""
    shape = (x.shape[0],) + (1,) * (x.dim() - 2) + (x.shape[-1],)
    return F.layer_norm(x, x.shape[-1:]) * gain.view(shape) + bias.view(shape)


ACTIVATIONS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "relu": torch.relu,
    "gelu": F.gelu,
    "silu": F.silu,
    "tanh": torch.tanh,
    "quadratic": torch.square,  # Gromov 2023's solvable model of modular arithmetic
}


def fan_in_bound(fan_in: int) -> float:
    return 1.0 / math.sqrt(fan_in)
