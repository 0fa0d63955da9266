"""Compression and complexity measures: is generalization a simplification of the network?

Three views, each cohort-vectorized (member axis first) and measured on the probe schedule:

- `neuron_fourier`: the Fourier IPR and Gini of each neuron's input weights over the p tokens
  (Gromov 2023; Doshi et al. 2024, `d-doshi/Grokking`). A neuron tuned to one frequency has
  IPR 1, a flat spectrum 1/K. Weights only: the cheapest.
- `local_complexity`: how many neurons change the sign of their pre-activation within a small
  neighbourhood of each input (Humayun, Balestriero, Baraniuk ICML 2024, "Deep networks
  always grok"). It counts the linear-region boundaries that pass near the data. A linear
  model has none.
- `centroid_alignment`: the mean cosine between each input x and c(x) = d/dx sum_k f_k(x)
  (GrokAlign, Humayun et al. 2025). One backward pass.

Both input-space measures read the model through `input_layer` (what the first hidden layer
reads: the combined embeddings, the one-hot tokens, or the features) and `from_input_layer`.
The MLP and the linear student define them; the transformer does not yet.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from grokscope.errors import ConfigError
from grokscope.probes.config import (
    CentroidAlignmentProbe,
    LocalComplexityProbe,
    NeuronFourierProbe,
    ProbeSpec,
)
from grokscope.probes.fourier import gini
from grokscope.probes.measure import Cohort, Values, _member_rows, _seeds

SAMPLE_CHUNK = 32  # examples per pass of local complexity: (E, 32 * points, width) at a time


def neuron_weights(model: Any, p: int) -> torch.Tensor:
    """Each neuron's input weights over the p operand tokens, `(E, p, n)`: the MLP's
    first-layer weights of the first operand's slot; the transformer's embedding columns."""
    if hasattr(model, "first_layer_tables"):
        return model.first_layer_tables().detach()[:, :p]
    return model.embed.detach()[:, :p]


def fourier_ipr_gini(weights: torch.Tensor, power: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-neuron IPR sum_k (a_k / |a|_2)^(2 r) and Gini of the amplitudes a = |rfft(w)| over
    the token axis, averaged over the neurons: weights `(E, p, n)` -> two `(E,)`. Neurons
    whose weights are all 0 have no spectrum and are left out of the means."""
    amplitude = torch.fft.rfft(weights.to(torch.float64), dim=1).abs().transpose(1, 2)  # (E,n,K)
    norm = amplitude.norm(dim=-1, keepdim=True)
    alive = norm.squeeze(-1) > 0  # (E, n)
    q = amplitude / norm.clamp_min(torch.finfo(torch.float64).tiny)
    ipr = q.pow(2 * power).sum(-1)  # (E, n)
    g = gini(amplitude.flatten(0, 1)).view(ipr.shape)
    count = alive.sum(1).clamp_min(1)
    return (ipr * alive).sum(1) / count, (g * alive).sum(1) / count


def neuron_fourier_probe(cohort: Cohort, spec: NeuronFourierProbe, evaluation: Callable) -> Values:
    ipr, g = fourier_ipr_gini(neuron_weights(cohort.model, cohort.task.meta["p"]), spec.power)
    return {"neuron_fourier/ipr": ipr.float(), "neuron_fourier/gini": g.float()}


def check_neuron_fourier(cohort: Cohort, spec: ProbeSpec, where: str) -> None:
    model = cohort.model
    tokens = getattr(model, "tokens", False) or hasattr(model, "embed")
    if "p" not in cohort.task.meta or not tokens:
        raise ConfigError(f"{where}.name: 'neuron_fourier' needs a modular task with a token "
                          f"model (task '{cohort.task.name}'; allowed models: mlp, transformer)")


def orthonormal_directions(dim: int, count: int, seed: int, device: torch.device
                           ) -> torch.Tensor:
    """`(count, dim)` orthonormal rows (count <= dim), from `seed` alone."""
    gauss = torch.randn(dim, count, generator=torch.Generator().manual_seed(int(seed)),
                        dtype=torch.float64)
    q, _ = torch.linalg.qr(gauss)
    return q.T.to(device)


def local_complexity(model: Any, h: torch.Tensor, points: int, radius: float,
                     seeds: list[int]) -> torch.Tensor:
    """Mean number of neurons (over every hidden layer) whose pre-activation sign is not the
    same at all vertices x +- r u_i of each input's neighbourhood: h `(E, n, D)` -> `(E,)`.

    u_1..u_m are m = points // 2 orthonormal directions per member (at most D), drawn from the
    member's seed; r = radius x the member's mean input norm, so the neighbourhood scales
    with the inputs (embeddings grow or shrink during training)."""
    n_members, n, dim = h.shape
    m = max(1, min(points // 2, dim))
    u = torch.stack([orthonormal_directions(dim, m, s, h.device) for s in seeds]).to(h.dtype)
    r = radius * h.norm(dim=-1).mean(-1)  # (E,)
    offsets = torch.cat([u, -u], dim=1) * r.view(-1, 1, 1)  # (E, 2m, D)
    counts = []
    for start in range(0, n, SAMPLE_CHUNK):
        x = h[:, start:start + SAMPLE_CHUNK]  # (E, c, D)
        vertices = x.unsqueeze(2) + offsets.unsqueeze(1)  # (E, c, 2m, D)
        _, pre = model.from_input_layer(vertices.flatten(1, 2))
        changed = torch.zeros(x.shape[:2], device=h.device)
        for z in pre:
            positive = z.view(*vertices.shape[:3], -1) > 0  # (E, c, 2m, width)
            changed += (positive.any(2) & ~positive.all(2)).sum(-1)
        counts.append(changed)
    return torch.cat(counts, dim=1).mean(1)


def _inputs(cohort: Cohort, split: str, limit: int, seeds: list[int]) -> torch.Tensor:
    mask = cohort.test_masks if split == "test" else cohort.masks
    rows = _member_rows(mask, limit, seeds)
    return cohort.model.input_layer(cohort.task.inputs[rows]).detach()  # (E, n, D)


@torch.no_grad()
def local_complexity_probe(cohort: Cohort, spec: LocalComplexityProbe,
                           evaluation: Callable) -> Values:
    seeds = _seeds(cohort, spec.seed)
    h = _inputs(cohort, spec.split, spec.max_examples, seeds)
    value = local_complexity(cohort.model, h, spec.points, spec.radius, seeds)
    return {f"local_complexity/{spec.split}": value}


def centroid_alignment(model: Any, h: torch.Tensor) -> torch.Tensor:
    """Mean over inputs of cos(x, d/dx sum_k f_k(x)): h `(E, n, D)` -> `(E,)`. Examples do
    not interact, so one backward pass of the summed outputs gives every c(x)."""
    with torch.enable_grad():
        x = h.detach().requires_grad_(True)
        out, _ = model.from_input_layer(x)
        (grad,) = torch.autograd.grad(out.sum(), x)
    return F.cosine_similarity(grad, x.detach(), dim=-1).mean(1)


def centroid_alignment_probe(cohort: Cohort, spec: CentroidAlignmentProbe,
                             evaluation: Callable) -> Values:
    h = _inputs(cohort, spec.split, spec.max_examples, _seeds(cohort))
    return {f"centroid_alignment/{spec.split}": centroid_alignment(cohort.model, h).detach()}


def check_input_space(cohort: Cohort, spec: LocalComplexityProbe | CentroidAlignmentProbe,
                      where: str) -> None:
    if not hasattr(cohort.model, "from_input_layer"):
        raise ConfigError(f"{where}.name: '{spec.name}' reads the model's input layer, which "
                          f"model '{cohort.config.model.name}' does not expose (allowed "
                          "models: mlp, linear)")
