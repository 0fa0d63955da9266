"""Carvalho et al. 2025's subclass datasets: the geometry the paper states, exactly."""

import itertools
import math

import numpy as np
import pytest
import torch

from grokscope.config import SubclassTaskConfig
from grokscope.errors import ConfigError
from grokscope.tasks import build_task
from grokscope.tasks.subclass import (
    EQUIDISTANT_CODES,
    equidistant_classes,
    equivariant_classes,
    group_geometry,
    hamming,
)


def test_group_centres_one_apart_and_rotation_orthogonal_with_paper_scales():
    geometry = group_geometry()
    gaps = np.linalg.norm(geometry.centres[1] - geometry.centres[0], axis=1)
    np.testing.assert_allclose(gaps, 1.0, atol=1e-12)
    for a in geometry.mixing:  # A = S R: rows of R orthonormal, so A A^T = S^2
        scales = np.sqrt(np.diag(a @ a.T))
        assert scales.min() >= 0.125 * 0.75 - 1e-12 and scales.max() <= 0.125 * 1.25 + 1e-12
        np.testing.assert_allclose(a @ a.T, np.diag(scales**2), atol=1e-12)


def test_centroid_distance_is_sqrt_hamming():
    geometry = group_geometry()
    codes = [0, 5, 192, 449, 511, 300]
    for a, b in itertools.combinations(codes, 2):
        d = np.linalg.norm(geometry.centroid(a) - geometry.centroid(b))
        assert d == pytest.approx(math.sqrt(hamming(a, b)), abs=1e-9)


def test_dataset1_subclasses_sqrt2_apart_and_class_centroids_1_apart():
    geometry = group_geometry()
    assert len({hamming(a, b) for a, b in itertools.combinations(EQUIDISTANT_CODES, 2)}) == 1
    for a, b in itertools.combinations(EQUIDISTANT_CODES, 2):
        assert np.linalg.norm(geometry.centroid(a) - geometry.centroid(b)) == pytest.approx(
            math.sqrt(2))
    classes = equidistant_classes()
    assert classes == [[192, 320], [384, 449], [450, 452], [456, 464]]
    centres = [np.mean([geometry.centroid(c) for c in pair], 0) for pair in classes]
    for a, b in itertools.combinations(centres, 2):
        assert np.linalg.norm(a - b) == pytest.approx(1.0)


def test_dataset2_distance_table_of_the_notes():
    classes = equivariant_classes()
    assert [len(c) for c in classes] == [10] * 4
    assert len({code for c in classes for code in c}) == 40  # disjoint neighbourhoods
    within, across = {}, {}
    for ci, cj in itertools.combinations_with_replacement(range(4), 2):
        pairs = (itertools.combinations(classes[ci], 2) if ci == cj
                 else itertools.product(classes[ci], classes[cj]))
        for a, b in pairs:
            table = within if ci == cj else across
            table[hamming(a, b)] = table.get(hamming(a, b), 0) + 1
    assert within == {1: 36, 2: 144}  # seed-neighbour, neighbour-neighbour
    assert across == {4: 180, 5: 72, 6: 276, 7: 36, 8: 36}


def test_empirical_class_centroids_and_within_subclass_spread():
    task = build_task(SubclassTaskConfig(name="equidistant"))
    test = task.groups["in_test"] == 1
    assert int(test.sum()) == 10_000 and int((~test).sum()) == 20_000
    assert torch.bincount(task.groups["subclass"][test]).tolist() == [1250] * 8
    assert torch.bincount(task.groups["subclass"][~test]).tolist() == [2500] * 8
    x = task.inputs.double()
    centres = torch.stack([x[task.labels == c].mean(0) for c in range(4)])
    distances = torch.pdist(centres)
    assert distances.min() > 0.99 and distances.max() < 1.01  # notes: 0.995-1.004
    sub0 = x[task.groups["subclass"] == 0]
    spread = (sub0 - sub0.mean(0)).std(0)
    assert 0.09 < float(spread.mean()) < 0.16  # per-axis within-subclass std (notes: ~0.128)
    # bit 5 is 0 in every Dataset-1 code: group 5's 13 coordinates carry no class information
    group5 = centres[:, 5 * 13:6 * 13]
    assert float(torch.pdist(group5).max()) < 0.02


def test_dataset2_sizes_and_labels():
    task = build_task(SubclassTaskConfig(name="equivariant"))
    test = task.groups["in_test"] == 1
    assert torch.bincount(task.groups["subclass"][test]).tolist() == [250] * 40
    assert torch.equal(task.labels, task.groups["subclass"] // 10)
    assert task.inputs.shape == (30_000, 117) and task.meta["tokens"] == (9, 13)


def test_generator_is_deterministic_and_seeded():
    a = build_task(SubclassTaskConfig(name="equidistant", pool_size=800, test_size=400))
    b = build_task(SubclassTaskConfig(name="equidistant", pool_size=800, test_size=400))
    c = build_task(SubclassTaskConfig(name="equidistant", pool_size=800, test_size=400,
                                      generator_seed=7))
    assert torch.equal(a.inputs, b.inputs) and not torch.equal(a.inputs, c.inputs)


def test_standardize_z_scores_by_the_train_pool_for_pool_and_test_alike():
    small = {"name": "equidistant", "pool_size": 800, "test_size": 400}
    raw = build_task(SubclassTaskConfig(**small)).inputs.double()
    task = build_task(SubclassTaskConfig(**small, standardize=True))
    pool = task.groups["in_test"] == 0
    np.testing.assert_allclose(task.inputs[pool].double().mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(task.inputs[pool].double().std(0, unbiased=False), 1, atol=1e-5)
    mean, std = raw[pool].mean(0), raw[pool].std(0, unbiased=False)
    torch.testing.assert_close(task.inputs.double(), (raw - mean) / std, atol=1e-5, rtol=0)
    assert not torch.allclose(task.inputs[~pool].double().mean(0), torch.zeros(117).double(),
                              atol=1e-3)  # the test set is mapped, not re-fitted


def test_pool_larger_than_its_side_of_the_split_is_a_config_error():
    with pytest.raises(ConfigError, match="pool_size 100000 gives 12500 per subclass"):
        build_task(SubclassTaskConfig(name="equidistant", pool_size=100_000))
