"""Restricted and excluded loss (Nanda et al. 2023, Sec. 5.1): progress measures of the
Fourier multiplication circuit for a+b mod p.

Over the p x p grid of inputs, the circuit's logits for output c are sums of
cos(w_k (a + b - c)), i.e. they lie in the span of cos(w_k(a+b)) and sin(w_k(a+b)) for the
key frequencies w_k = 2 pi k / p. *Restricted loss* keeps only those directions (plus each
output's mean) and measures the loss on every pair: it falls as the circuit forms.
*Excluded loss* removes them and measures the loss on the training pairs: it rises once
memorization is being done by the circuit. Nanda et al. project the MLP activations of their
1-layer transformer; projecting the logits themselves is the same linear operation on the
neuron path and needs no model internals, so it applies to the MLP and the transformer alike.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def sum_directions(p: int, dtype: torch.dtype = torch.float64,
                   device: torch.device | str = "cpu") -> torch.Tensor:
    """Unit vectors cos(w_k(a+b)), sin(w_k(a+b)) over the a-major grid: `(p//2, 2, p*p)`
    for k = 1..p//2 (for even p the sine at k = p/2 is zero and stays zero)."""
    a, b = torch.meshgrid(torch.arange(p), torch.arange(p), indexing="ij")
    k = torch.arange(1, p // 2 + 1).view(-1, 1, 1)
    angle = 2 * math.pi * (k * (a + b).flatten().view(1, 1, -1) % p).double() / p
    basis = torch.cat([angle.cos(), angle.sin()], dim=1).to(dtype)  # (K, 2, p*p)
    return (basis / basis.norm(dim=-1, keepdim=True).clamp_min(1e-12)).to(device)


def frequency_energy(logits: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Squared norm of the logits `(E, p*p, C)` along each frequency's pair: `(E, p//2)`."""
    coef = torch.einsum("kcn,enC->ekcC", basis, logits)
    return coef.pow(2).sum((2, 3))


def restricted_excluded(logits: torch.Tensor, labels: torch.Tensor, key_freqs: torch.Tensor,
                        train: torch.Tensor) -> dict[str, torch.Tensor]:
    """Restricted loss (on all pairs) and excluded loss (on each member's train pairs), `(E,)`.

    logits `(E, p*p, C)` over the a-major grid; labels `(p*p,)`; key_freqs `(E, k)` in 1..p//2;
    train `(E, p*p)` mask. Losses in float64 (Nanda et al. use high-precision softmax).
    """
    p = math.isqrt(logits.shape[1])
    logits = logits.to(torch.float64)
    basis = sum_directions(p, device=logits.device)[key_freqs - 1]  # (E, k, 2, p*p)
    coef = torch.einsum("ekcn,enC->ekcC", basis, logits)
    along = torch.einsum("ekcn,ekcC->enC", basis, coef)  # the key-frequency part
    restricted = along + logits.mean(1, keepdim=True)
    excluded = logits - along

    def loss(z: torch.Tensor) -> torch.Tensor:  # (E, p*p)
        return F.cross_entropy(z.transpose(1, 2), labels.expand(z.shape[0], -1), reduction="none")

    weight = train.to(torch.float64)
    return {
        "circuit/restricted_loss": loss(restricted).mean(1),
        "circuit/excluded_loss": (loss(excluded) * weight).sum(1) / weight.sum(1).clamp_min(1),
    }
