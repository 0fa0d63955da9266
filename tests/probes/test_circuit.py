"""Restricted / excluded loss on hand-built logits made of pure key-frequency terms."""

import math

import torch
import torch.nn.functional as F

from grokscope.probes.circuit import frequency_energy, restricted_excluded, sum_directions

P = 13


def _circuit_logits(freqs: list[int], scale: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    """logits[(a, b), c] = scale * sum_k cos(w_k (a + b - c)): the Fourier multiplication
    circuit of Nanda et al. 2023, exactly."""
    a, b = torch.meshgrid(torch.arange(P), torch.arange(P), indexing="ij")
    s = (a + b).flatten().double()[:, None]  # (p*p, 1)
    c = torch.arange(P).double()[None]
    logits = sum(torch.cos(2 * math.pi * k * (s - c) / P) for k in freqs) * scale
    return logits[None], (a + b).flatten() % P


def _loss(logits, labels, mask=None):
    loss = F.cross_entropy(logits[0], labels, reduction="none")
    return loss.mean() if mask is None else loss[mask[0]].mean()


def test_pure_circuit_logits_keep_their_loss_when_restricted_and_lose_it_when_excluded():
    logits, labels = _circuit_logits([2, 5])
    train = torch.rand(1, P * P, generator=torch.Generator().manual_seed(0)) < 0.3
    out = restricted_excluded(logits, labels, torch.tensor([[2, 5]]), train)
    assert math.isclose(out["circuit/restricted_loss"].item(), _loss(logits, labels).item(),
                        rel_tol=1e-9)
    # everything is removed: constant logits, the uniform loss log p
    assert math.isclose(out["circuit/excluded_loss"].item(), math.log(P), rel_tol=1e-9)


def test_other_frequencies_are_neither_kept_nor_removed():
    logits, labels = _circuit_logits([2, 5])
    train = torch.ones(1, P * P, dtype=torch.bool)
    out = restricted_excluded(logits, labels, torch.tensor([[1, 3]]), train)
    assert math.isclose(out["circuit/restricted_loss"].item(), math.log(P), rel_tol=1e-9)
    assert math.isclose(out["circuit/excluded_loss"].item(), _loss(logits, labels, train).item(),
                        rel_tol=1e-9)


def test_frequency_energy_finds_the_planted_frequencies():
    logits, _ = _circuit_logits([2, 5])
    energy = frequency_energy(logits, sum_directions(P))[0]
    assert set(energy.topk(2).indices.add(1).tolist()) == {2, 5}
    assert energy[[0, 2, 3, 5]].abs().max() < 1e-9 * energy.max()
