"""Magnitude pruning: exact sparsity, per-member thresholds, weights restored bit for bit."""

import torch

from grokscope.probes.pruning import magnitude_masks, prunable, pruned_accuracy
from grokscope.training.cohort import Cohort


def test_masks_remove_the_smallest_share_of_each_members_weights():
    g = torch.Generator().manual_seed(0)
    weights = [torch.randn(2, 10, 10, generator=g), torch.randn(2, 5, 20, generator=g) * 3]
    for sparsity in (0.25, 0.5, 0.9):
        masks = magnitude_masks(weights, sparsity)
        kept = sum(m.flatten(1).sum(1) for m in masks)  # (E,)
        assert kept.tolist() == [200 - int(sparsity * 200)] * 2
        for member in range(2):  # everything kept is at least as large as anything removed
            values = torch.cat([w[member].flatten() for w in weights]).abs()
            keep = torch.cat([m[member].flatten() for m in masks])
            assert values[keep].min() > values[~keep].max()


def test_pruned_accuracy_restores_weights_and_degrades_with_sparsity(tiny_config):
    cohort = Cohort(tiny_config())
    for _ in range(60):
        cohort.step()
    before = [p.detach().clone() for p in cohort.model.parameters()]
    seen = []

    def accuracy():
        seen.append(sum(int((p == 0).sum()) for p in prunable(cohort.model)))
        return cohort.evaluate().test_acc

    out = pruned_accuracy(cohort.model, [0.5, 0.99], accuracy)
    assert list(out) == ["pruning/test_acc@0.5", "pruning/test_acc@0.99"]
    total = sum(p.numel() for p in prunable(cohort.model))
    assert abs(seen[0] - 0.5 * total) <= 2 and abs(seen[1] - 0.99 * total) <= 2
    assert all(torch.equal(a, b) for a, b in zip(before, cohort.model.parameters(), strict=True))
