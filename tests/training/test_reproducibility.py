"""The same config and seed give bit-identical weights on CPU; another seed does not."""

import torch

from grokscope.training.cohort import Cohort


def _weights(config, steps=50):
    cohort = Cohort(config)
    for _ in range(steps):
        cohort.step()
    return [p.detach().clone() for p in cohort.model.parameters()]


def test_same_seed_is_bit_identical(tiny_config):
    for train in ({"batch_size": None}, {"batch_size": 8}):
        a = _weights(tiny_config(train=train))
        b = _weights(tiny_config(train=train))
        assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_other_seed_differs(tiny_config):
    a = _weights(tiny_config(cohort={"members": 1, "seed": 0}))
    b = _weights(tiny_config(cohort={"members": 1, "seed": 1}))
    assert not torch.equal(a[0], b[0])


def test_cuda_without_cuda_is_a_config_error(tiny_config):
    import pytest

    from grokscope.errors import ConfigError
    from grokscope.training.cohort import resolve_device

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(ConfigError, match=r"train\.device: 'cuda' requested but CUDA is not"):
        resolve_device("cuda")
    with pytest.raises(ConfigError, match=r"train\.device: unknown device 'gpu0'"):
        resolve_device("gpu0")
    assert resolve_device("auto").type == "cpu"
