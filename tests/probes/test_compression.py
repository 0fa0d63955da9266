"""The compression and complexity probes against closed forms and independent computations
on tiny models: Fourier IPR/Gini of neuron weights, local complexity, centroid alignment."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from conftest import merge
from grokscope.config import parse_config
from grokscope.errors import ConfigError
from grokscope.probes.callback import ProbeCallback
from grokscope.probes.compression import (
    centroid_alignment,
    fourier_ipr_gini,
    local_complexity,
    orthonormal_directions,
)
from grokscope.training.cohort import Cohort

P = 13
TOKENS = {"task": {"name": "modular", "p": P, "op": "a+b"}, "split": {"fraction": 0.5},
          "model": {"name": "mlp", "embed_dim": 6, "width": 10, "depth": 2},
          "cohort": {"members": 2, "seed": [3, 4]}, "train": {"device": "cpu", "steps": 4}}


def test_ipr_is_one_for_one_frequency_and_one_over_k_for_a_flat_spectrum():
    a = torch.arange(P, dtype=torch.float64)
    single = torch.cos(2 * math.pi * 3 * a / P)  # one frequency (k = 3)
    k = P // 2 + 1
    flat = torch.zeros(P, dtype=torch.float64)
    flat[0] = 1.0  # a delta: |rfft| = 1 at every frequency
    weights = torch.stack([single, flat], dim=1).unsqueeze(0)  # (E=1, p, n=2 neurons)
    ipr_single, _ = fourier_ipr_gini(weights[:, :, :1])
    ipr_flat, gini_flat = fourier_ipr_gini(weights[:, :, 1:])
    assert float(ipr_single) == pytest.approx(1.0, abs=1e-12)
    assert float(ipr_flat) == pytest.approx(1 / k, abs=1e-12)
    assert float(gini_flat) == pytest.approx(0.0, abs=1e-12)
    _, gini_single = fourier_ipr_gini(weights[:, :, :1])
    assert float(gini_single) == pytest.approx((k - 1) / k, abs=1e-12)  # one-hot spectrum
    # both neurons together: the mean over neurons; an all-zero neuron is left out
    both = torch.cat([weights, torch.zeros(1, P, 1, dtype=torch.float64)], dim=2)
    assert float(fourier_ipr_gini(both)[0]) == pytest.approx((1 + 1 / k) / 2, abs=1e-12)


def test_neuron_fourier_probe_equals_numpy_on_the_mlps_first_layer():
    cohort = Cohort(parse_config(merge(TOKENS, {"probes": [{"name": "neuron_fourier"}]})))
    probes = ProbeCallback(cohort).probes
    scalars, _ = probes.measure(cohort, 0, cohort.evaluate)
    embed = cohort.model.embed.detach().numpy()  # (E, p, d)
    w0 = cohort.model.w0.detach().numpy()  # (E, 2d, width)
    for member in range(2):
        table = embed[member] @ w0[member][:6]  # slot 0 (operand a): (p, width)
        amp = np.abs(np.fft.rfft(table, axis=0))  # (K, width)
        q = amp / np.linalg.norm(amp, axis=0)
        expected_ipr = (q ** 4).sum(0).mean()
        diffs = np.abs(amp[:, None, :] - amp[None, :, :]).mean((0, 1))
        expected_gini = (diffs / amp.mean(0) / 2).mean()
        assert float(scalars["neuron_fourier/ipr"][member]) == pytest.approx(expected_ipr, 1e-5)
        assert float(scalars["neuron_fourier/gini"][member]) == pytest.approx(expected_gini, 1e-5)


def test_the_input_layer_view_is_the_models_own_function():
    for combine in ("concat", "sum", "one_hot"):
        cohort = Cohort(parse_config(merge(TOKENS, {"model": {"combine": combine}})))
        inputs = cohort.task.inputs[:20].expand(2, -1, -1)
        out, pre = cohort.model.from_input_layer(cohort.model.input_layer(inputs))
        torch.testing.assert_close(out, cohort.model(inputs))
        assert len(pre) == 2 and pre[0].shape == (2, 20, 10)


def _brute_local_complexity(cohort, h, member, points, radius, seed):
    """One member, one example at a time, with plain torch layers and explicit vertices."""
    model = cohort.model
    u = orthonormal_directions(h.shape[-1], points // 2, seed, h.device).double()
    r = radius * float(h[member].double().norm(dim=-1).mean())
    total = 0
    for x in h[member].double():
        vertices = torch.cat([x + r * u, x - r * u])  # (points, D)
        signs, z = [], vertices
        for layer in range(model.depth):
            z = z @ getattr(model, f"w{layer}")[member].double() + \
                getattr(model, f"b{layer}")[member].double()
            signs.append(z > 0)
            z = torch.relu(z)
        total += sum(int(((s.any(0)) & ~(s.all(0))).sum()) for s in signs)
    return total / h.shape[1]


def test_local_complexity_equals_a_brute_force_count():
    cohort = Cohort(parse_config(TOKENS))
    h = cohort.model.input_layer(cohort.task.inputs[:40].expand(2, -1, -1)).detach()
    for radius in (0.05, 0.5):
        got = local_complexity(cohort.model, h, points=8, radius=radius, seeds=[11, 12])
        for member, seed in enumerate([11, 12]):
            expected = _brute_local_complexity(cohort, h, member, 8, radius, seed)
            assert float(got[member]) == pytest.approx(expected, abs=1e-6)  # a float32 mean
    small = local_complexity(cohort.model, h, 8, 1e-4, [11, 12])
    large = local_complexity(cohort.model, h, 8, 2.0, [11, 12])
    assert bool((large > small).all())  # more boundaries inside a larger neighbourhood


def test_a_linear_model_has_no_local_complexity_and_a_closed_form_alignment():
    config = parse_config({"task": {"name": "teacher_student", "n_train": 20, "dim": 8,
                                    "fast_dims": 5, "kappa": [1, 10], "test_size": 30,
                                    "draws": 2},
                           "split": {"name": "teacher_student", "kappa": 10},
                           "model": {"name": "linear", "init": "uniform", "bias": True},
                           "train": {"device": "cpu", "loss": "mse"}, "cohort": {"members": 2},
                           "probes": [{"name": "local_complexity"},
                                      {"name": "centroid_alignment"}]})
    cohort = Cohort(config)
    scalars, _ = ProbeCallback(cohort).probes.measure(cohort, 0, cohort.evaluate)
    assert scalars["local_complexity/test"].tolist() == [0.0, 0.0]
    # c(x) = sum_k w_k, the same for every x: the mean cosine with each test input
    for member in range(2):
        rows = cohort.test_masks[member]
        x = cohort.task.inputs[rows]
        c = cohort.model.w_out[member].detach().sum(-1)
        expected = torch.nn.functional.cosine_similarity(x, c.expand_as(x), dim=-1).mean()
        assert float(scalars["centroid_alignment/test"][member]) == pytest.approx(
            float(expected), abs=1e-5)


def test_centroid_alignment_equals_per_example_autograd():
    cohort = Cohort(parse_config(TOKENS))
    h = cohort.model.input_layer(cohort.task.inputs[:12].expand(2, -1, -1)).detach()
    got = centroid_alignment(cohort.model, h)
    for member in range(2):
        cosines = []
        for i in range(12):
            x = h[:, i:i + 1].clone().requires_grad_(True)
            out, _ = cohort.model.from_input_layer(x)
            (g,) = torch.autograd.grad(out[member].sum(), x)
            cosines.append(torch.nn.functional.cosine_similarity(
                g[member, 0], x[member, 0].detach(), dim=0))
        assert float(got[member]) == pytest.approx(float(torch.stack(cosines).mean()), abs=1e-5)


@pytest.mark.parametrize("probe", ["local_complexity", "centroid_alignment"])
def test_input_space_probes_refuse_a_transformer_in_one_line(probe):
    config = {**TOKENS, "model": {"name": "transformer", "d_model": 8, "n_heads": 2,
                                  "d_mlp": 16}, "probes": [{"name": probe}]}
    cohort = Cohort(parse_config(config))
    with pytest.raises(ConfigError, match=f"probes.0.name: '{probe}' reads the model's input "
                                          "layer, which model 'transformer' does not expose"):
        ProbeCallback(cohort)


def test_neuron_fourier_refuses_a_feature_task():
    config = parse_config({"task": {"name": "sparse_parity", "n_bits": 6, "k": 2,
                                    "pool_size": 30, "test_size": 10},
                           "split": {"name": "pool", "n_train": 20},
                           "model": {"name": "mlp", "width": 8},
                           "train": {"device": "cpu"}, "cohort": {"members": 1},
                           "probes": [{"name": "neuron_fourier"}]})
    with pytest.raises(ConfigError, match="'neuron_fourier' needs a modular task"):
        ProbeCallback(Cohort(config))
