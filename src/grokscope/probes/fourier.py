"""Fourier features of a modular-arithmetic model (Nanda et al. 2023): a network that groks
a+b mod p embeds each token a as cos/sin(2 pi k a / p) for a few *key frequencies* k, so the
embedding's power over frequencies turns sparse as the circuit forms."""

from __future__ import annotations

import torch


def embedding_spectrum(embed: torch.Tensor) -> torch.Tensor:
    """Share of the embedding's squared norm at each frequency k = 0..p//2: `(E, p//2 + 1)`.

    embed `(E, p, d)`: row a is token a's vector. A DFT over the token axis; frequencies k and
    p - k carry the same (cos, sin) pair, so both are counted at k. Rows sum to 1 (Parseval).
    """
    p = embed.shape[1]
    power = torch.fft.rfft(embed.to(torch.float64), dim=1).abs().pow(2).sum(-1)  # (E, K)
    power[:, 1:] *= 2
    if p % 2 == 0:  # the Nyquist frequency is its own mirror
        power[:, -1] /= 2
    return power / power.sum(1, keepdim=True).clamp_min(torch.finfo(power.dtype).tiny)


def gini(x: torch.Tensor) -> torch.Tensor:
    """Gini coefficient of non-negative rows `(E, n)`: 0 when uniform, (n-1)/n when one-hot."""
    n = x.shape[1]
    ranked = x.sort(dim=1).values
    i = torch.arange(1, n + 1, dtype=x.dtype, device=x.device)
    return ((2 * i - n - 1) * ranked).sum(1) / (n * ranked.sum(1).clamp_min(1e-300))


def ipr(x: torch.Tensor) -> torch.Tensor:
    """Inverse participation ratio sum q^2 of the normalized rows q: 1/n uniform, 1 one-hot
    (Doshi et al. 2024 track it for the Fourier spectrum of weights)."""
    q = x / x.sum(1, keepdim=True).clamp_min(1e-300)
    return q.pow(2).sum(1)


def fourier_features(embed: torch.Tensor, top_k: int) -> dict[str, torch.Tensor]:
    """Spectrum `(E, p//2 + 1)` and its summaries `(E,)`: the share of the embedding's squared
    norm in the top_k non-constant frequencies, and the Gini and IPR of the non-constant part."""
    spectrum = embedding_spectrum(embed)
    varying = spectrum[:, 1:]
    k = min(top_k, varying.shape[1])
    return {
        "fourier/spectrum": spectrum,
        "fourier/key_fraction": varying.topk(k, dim=1).values.sum(1),
        "fourier/gini": gini(varying),
        "fourier/ipr": ipr(varying),
    }
