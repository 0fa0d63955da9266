"""Effective rank of known-rank matrices; softmax collapse on exact float32 zeros."""

import math

import torch

from grokscope.probes.representation import effective_rank, softmax_collapse


def _centered_orthonormal(n: int, r: int, seed: int) -> torch.Tensor:
    """n x r orthonormal columns orthogonal to the all-ones vector (so already centered)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.cat([torch.ones(n, 1), torch.randn(n, r, generator=g)], 1).double())
    return q[:, 1:]


def test_effective_rank_of_equal_singular_values_is_the_rank():
    for r in (1, 3, 7):
        u, v = _centered_orthonormal(50, r, 0), _centered_orthonormal(20, r, 1)
        x = (u @ v.T * 3.0)[None]  # rank r, all singular values 3
        assert math.isclose(effective_rank(x).item(), r, rel_tol=1e-9)


def test_effective_rank_matches_entropy_of_singular_values():
    s = torch.tensor([4.0, 2.0, 1.0, 1.0], dtype=torch.float64)
    u, v = _centered_orthonormal(30, 4, 2), _centered_orthonormal(10, 4, 3)
    x = (u * s) @ v.T
    p = s / s.sum()
    expected = math.exp(-(p * p.log()).sum().item())
    assert math.isclose(effective_rank(x[None]).item(), expected, rel_tol=1e-9)


def test_softmax_collapse_counts_float32_zero_losses_only():
    logits = torch.zeros(1, 4, 3)
    logits[0, 0, 0] = 200.0  # margin 200: float32 loss is exactly 0
    logits[0, 1, 1] = 5.0  # a confident but non-zero loss
    labels = torch.tensor([[0, 1, 2, 0]])
    weights = torch.full((1, 4), 0.25)
    assert softmax_collapse(logits, labels, weights).item() == 0.25
    weights = torch.tensor([[0.5, 0.5, 0.0, 0.0]])  # padding rows weigh nothing
    assert softmax_collapse(logits, labels, weights).item() == 0.5
