"""The functional probes on an ordinary model equal the engine's probes on the same cohort
member (one implementation, a member axis of one; issue 34)."""

from __future__ import annotations

import pytest
import torch

from conftest import TINY, merge
from grokscope import ConfigError
from grokscope.config import parse_config
from grokscope.probes.callback import ProbeCallback
from grokscope.probes.functional import effective_rank, fourier_spectrum, weight_norm
from grokscope.training.cohort import Cohort


@pytest.fixture(scope="module")
def measured():
    config = parse_config(merge(TINY, {
        "probes": [{"name": "weight_norm"}, {"name": "fourier"}, {"name": "representation"}],
        "cohort": {"members": 3}}))
    cohort = Cohort(config)
    for _ in range(5):
        cohort.step()
    scalars, spectra = ProbeCallback(cohort).probes.measure(cohort, 0, cohort.evaluate)
    return cohort, scalars, spectra


class Plain(torch.nn.Module):
    """Member k of a cohort as an ordinary module: its own tensors, no member axis."""

    def __init__(self, cohort: Cohort, k: int) -> None:
        super().__init__()
        for name, param in cohort.model.named_parameters():
            self.register_parameter(name.replace(".", "_"), torch.nn.Parameter(param[k].clone()))


@pytest.mark.parametrize("k", [0, 2])
def test_weight_norm_of_a_plain_module_equals_the_engines(measured, k):
    cohort, scalars, _ = measured
    plain = weight_norm(Plain(cohort, k))
    assert plain["total"] == pytest.approx(float(scalars["weight_norm/total"][k]), rel=1e-5)
    for name, _ in cohort.model.named_parameters():
        assert plain[name.replace(".", "_")] == pytest.approx(
            float(scalars[f"weight_norm/{name}"][k]), rel=1e-5)


@pytest.mark.parametrize("k", [0, 1])
def test_fourier_spectrum_of_an_embedding_equals_the_engines(measured, k):
    cohort, scalars, spectra = measured
    p = cohort.task.meta["p"]
    plain = fourier_spectrum(cohort.model.embed.detach()[k, :p], top_k=5)
    assert plain["spectrum"] == pytest.approx(spectra["fourier/spectrum"][k].tolist(), rel=1e-5)
    for name in ("key_fraction", "gini", "ipr"):
        assert plain[name] == pytest.approx(float(scalars[f"fourier/{name}"][k]), rel=1e-5)
    assert len(plain["key"]) == 5 and all(1 <= f <= p // 2 for f in plain["key"])


def test_effective_rank_of_a_representation_equals_the_engines(measured):
    cohort, scalars, _ = measured
    rows = cohort.test_masks[0].nonzero().squeeze(1)
    features = cohort.outputs_at(rows, features=True)[0]
    engine = scalars.get("representation/effective_rank")
    assert engine is not None
    # the engine measures every member on its own test rows; member 0 here
    test_rows = [cohort.test_masks[k].nonzero().squeeze(1) for k in range(cohort.n_members)]
    assert torch.equal(test_rows[0], rows)
    assert effective_rank(features) == pytest.approx(float(engine[0]), rel=1e-5)
    assert effective_rank(torch.eye(4)) == pytest.approx(3.0, rel=1e-6)  # centered: rank 3


def test_bad_input_is_one_line():
    with pytest.raises(ConfigError, match="expected an nn.Module"):
        weight_norm("model")
    with pytest.raises(ConfigError, match="effective_rank: expected"):
        effective_rank(torch.zeros(3))
    with pytest.raises(ConfigError, match="fourier_spectrum: expected"):
        fourier_spectrum(torch.zeros(2, 3, 4))
