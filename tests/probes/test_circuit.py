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


def _hand_built_cohort(tiny_config, freqs: list[int]):
    """A quadratic-activation MLP whose logits are exactly sum_k 4 cos(w_k (a + b - c)):
    embed a -> (cos w a, sin w a) per frequency; 8 hidden units per frequency form the
    products cos/sin(w a) cos/sin(w b) as differences of squares; the readout mixes them with
    cos(w c), sin(w c)."""
    from grokscope.training.cohort import Cohort

    k = len(freqs)
    cohort = Cohort(tiny_config(
        task={"p": P}, cohort={"members": 1},
        model={"embed_dim": 2 * k, "width": 8 * k, "activation": "quadratic", "bias": False},
        probes=[{"name": "circuit", "key_freqs": freqs}]))
    model, d = cohort.model, 2 * k
    tokens = torch.arange(P).double()
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
        for i, f in enumerate(freqs):
            w = 2 * math.pi * f / P
            model.embed[0, :, 2 * i] = torch.cos(w * tokens).float()
            model.embed[0, :, 2 * i + 1] = torch.sin(w * tokens).float()
            ca, sa, cb, sb = 2 * i, 2 * i + 1, d + 2 * i, d + 2 * i + 1  # rows of [e_a; e_b]
            cos_c, sin_c = torch.cos(w * tokens), torch.sin(w * tokens)
            # 4 cos(w(a+b-c)) = 4 (ca cb - sa sb) cos(wc) + 4 (sa cb + ca sb) sin(wc), and each
            # product 4xy = (x + y)^2 - (x - y)^2: two hidden units per product
            terms = [(ca, cb, cos_c), (sa, sb, -cos_c), (sa, cb, sin_c), (ca, sb, sin_c)]
            for j, (x, y, readout) in enumerate(terms):
                for sign, unit in ((1.0, 8 * i + 2 * j), (-1.0, 8 * i + 2 * j + 1)):
                    model.w0[0, x, unit], model.w0[0, y, unit] = 1.0, sign
                    model.w_out[0, unit] = (sign * readout).float()
    return cohort


def test_restricted_and_excluded_loss_of_a_hand_built_circuit_model(tiny_config):
    from grokscope.probes.measure import PROBES

    cohort = _hand_built_cohort(tiny_config, [2, 5])
    logits = cohort.outputs_at(torch.arange(P * P)).double()
    expected, labels = _circuit_logits([2, 5], scale=4.0)
    assert torch.allclose(logits, expected, atol=1e-4)  # the model is the circuit
    spec = cohort.config.probes[0]
    out = PROBES["circuit"](cohort, spec, None)
    full = _loss(logits, labels).item()
    assert math.isclose(out["circuit/restricted_loss"].item(), full, rel_tol=1e-4)
    assert math.isclose(out["circuit/excluded_loss"].item(), math.log(P), rel_tol=1e-4)
