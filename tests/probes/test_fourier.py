"""Fourier probe: the embedding spectrum against explicit cos/sin projections."""

import math

import torch

from grokscope.probes.fourier import embedding_spectrum, fourier_features, gini, ipr


def _planted(p: int, k: int, d: int = 8) -> torch.Tensor:
    a = torch.arange(p, dtype=torch.float64).unsqueeze(1)
    u, v = torch.randn(2, d, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    return (torch.cos(2 * math.pi * k * a / p) * u + torch.sin(2 * math.pi * k * a / p) * v)[None]


def test_pure_frequency_embedding_has_all_its_power_at_that_frequency():
    for p, k in [(59, 7), (113, 14), (16, 3)]:
        out = fourier_features(_planted(p, k), top_k=1)
        spectrum = out["fourier/spectrum"][0]
        assert spectrum.argmax() == k
        assert math.isclose(spectrum[k], 1.0, rel_tol=1e-9)
        assert math.isclose(out["fourier/key_fraction"][0], 1.0, rel_tol=1e-9)
        assert math.isclose(out["fourier/ipr"][0], 1.0, rel_tol=1e-9)
        n = p // 2
        assert math.isclose(out["fourier/gini"][0], (n - 1) / n, rel_tol=1e-9)


def test_spectrum_equals_projection_on_an_explicit_real_fourier_basis():
    p, d = 23, 5
    embed = torch.randn(2, p, d, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    a = torch.arange(p, dtype=torch.float64)
    expected = torch.zeros(2, p // 2 + 1, dtype=torch.float64)
    expected[:, 0] = (embed.sum(1) / math.sqrt(p)).pow(2).sum(-1)  # the constant direction
    for k in range(1, p // 2 + 1):
        for wave in (torch.cos(2 * math.pi * k * a / p), torch.sin(2 * math.pi * k * a / p)):
            unit = wave / wave.norm()
            expected[:, k] += torch.einsum("a,ead->ed", unit, embed).pow(2).sum(-1)
    expected /= embed.pow(2).sum((1, 2)).unsqueeze(1)  # an orthonormal basis keeps the norm
    assert torch.allclose(embedding_spectrum(embed), expected, atol=1e-12)


def test_gini_and_ipr_of_uniform_and_one_hot_rows():
    uniform, one_hot = torch.ones(1, 10), torch.eye(10)[:1]
    assert gini(uniform).item() == 0 and math.isclose(ipr(uniform).item(), 0.1, rel_tol=1e-6)
    assert math.isclose(gini(one_hot).item(), 0.9, rel_tol=1e-6) and ipr(one_hot).item() == 1
