"""Probes on an ordinary model: no member axis, no engine, no config.

The engine's probes measure a cohort `(E, ...)`; these give the same numbers for one
`nn.Module` or tensor of yours, by calling the same functions with a member axis of one
(one implementation: `tests/probes/test_functional.py` checks that a cohort member measured
here equals the engine's value for it).

    from grokscope.probes.functional import weight_norm, effective_rank, fourier_spectrum

    weight_norm(model)["total"]                 # Omnigrok's quantity (Liu et al. 2023)
    effective_rank(features)                    # (n, d) representation (Roy & Vetterli 2007)
    fourier_spectrum(model.embed.weight[:p])    # key frequencies (Nanda et al. 2023)
"""

from __future__ import annotations

import torch

from grokscope.errors import ConfigError
from grokscope.probes.fourier import fourier_features
from grokscope.probes.norms import weight_norms
from grokscope.probes.representation import effective_rank as _effective_rank


def weight_norm(model: torch.nn.Module) -> dict[str, float]:
    """L2 norm of every parameter (by its name) and of all of them (`total`)."""
    if not isinstance(model, torch.nn.Module):
        raise ConfigError(f"weight_norm: expected an nn.Module, got {type(model).__name__}")
    try:
        norms = weight_norms(model, member_axis=False)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return {key.removeprefix("weight_norm/"): float(value[0]) for key, value in norms.items()}


def _matrix(x: torch.Tensor, what: str, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor) or x.dim() != 2 or min(x.shape) < 1:
        shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
        raise ConfigError(f"{name}: expected {what} as a 2-d tensor, got {shape}")
    return x.detach()


def effective_rank(x: torch.Tensor) -> float:
    """exp(entropy of the normalized singular values) of the centered `(n, d)` matrix: k for
    k equal non-zero singular values (Roy & Vetterli 2007)."""
    return float(_effective_rank(_matrix(x, "(n, d) rows", "effective_rank").unsqueeze(0))[0])


def fourier_spectrum(embed: torch.Tensor, top_k: int = 5) -> dict[str, object]:
    """An embedding's power over frequencies k = 0..p//2 (`spectrum`, a list summing to 1;
    row a of `(p, d)` is token a's vector) and its summaries: the share in the `top_k`
    non-constant frequencies (`key_fraction`), their `gini` and `ipr`, and the `key`
    frequencies themselves (Nanda et al. 2023)."""
    rows = _matrix(embed, "(p, d) token embeddings", "fourier_spectrum")
    found = fourier_features(rows.unsqueeze(0), top_k)
    spectrum = found["fourier/spectrum"][0]
    k = min(top_k, len(spectrum) - 1)
    return {"spectrum": spectrum.tolist(),
            "key": (spectrum[1:].topk(k).indices + 1).tolist() if k > 0 else [],
            **{name: float(found[f"fourier/{name}"][0])
               for name in ("key_fraction", "gini", "ipr")}}
