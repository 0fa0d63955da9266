"""Every shipped reproduction file validates (full and quick) and pins its paper's recipe."""

import pytest

from grokscope.reproduce import expand, find_suite, load_spec
from grokscope.reproduce.runner import shipped_suites

SUITES = shipped_suites()


def test_the_classic_suites_are_shipped():
    assert {"carvalho2025", "nanda2023", "power2022", "omnigrok2023_mnist", "random_table"} <= set(
        SUITES)


@pytest.mark.parametrize("suite", SUITES)
def test_every_file_expands_full_and_quick(suite):
    for path in find_suite(suite):
        spec = load_spec(path)
        for quick in (False, True):
            cohorts, members = expand(spec, quick=quick, name=path.stem)
            assert sorted(i for _, ids in cohorts for i in ids) == list(range(len(members)))
        assert spec.paper and spec.claim


def _config(suite):
    cohorts, _ = expand(load_spec(find_suite(suite)[0]))
    return cohorts[0][0]


def test_nanda2023_recipe():
    c = _config("nanda2023")
    assert (c.task.p, c.task.op, c.split.fraction) == (113, "a+b", 0.3)
    assert (c.model.n_layers, c.model.d_model, c.model.n_heads, c.model.d_mlp) == (1, 128, 4, 512)
    assert not c.model.layer_norm and c.train.batch_size is None  # full batch
    assert (c.optim.lr, c.optim.weight_decay, tuple(c.optim.betas)) == (1e-3, 1.0, (0.9, 0.98))


def test_omnigrok_recipe():
    c = _config("omnigrok2023_mnist")
    assert c.task.source == "mnist_5k" and c.split.n_train == 1000
    assert (c.model.width, c.model.depth, c.train.loss) == (200, 2, "mse")
    assert c.model.init_scale == [8.0, 8.0, 8.0, 1.0, 1.0, 1.0]
    assert (c.optim.lr, c.optim.weight_decay, c.train.batch_size) == (1e-3, 0.01, 200)
    assert c.train.steps == 100_000
