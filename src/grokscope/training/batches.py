"""Training batches per member: full batch, or mini-batches from each member's own stream."""

from __future__ import annotations

import torch

from grokscope.errors import ConfigError


def full_batch(masks: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's whole train split, padded to the largest: indices and loss weights.

    masks `(E, N)` -> indices `(E, n_max)` and weights `(E, n_max)` summing to 1 per member
    (padding rows get weight 0), so the objective is each member's mean train loss.
    """
    counts = masks.sum(1)
    n_max = int(counts.max())
    order = torch.argsort((~masks).to(torch.int8), dim=1, stable=True)  # train examples first
    indices = order[:, :n_max]
    valid = torch.arange(n_max, device=masks.device) < counts[:, None]
    weights = valid / counts[:, None].to(torch.float32)
    return indices, weights


class MemberBatchStream:
    """Mini-batches drawn without replacement from each member's train split, per member seed.

    Each member walks through a stream of random permutations of its own train indices,
    cut into consecutive batches of size B (a batch may straddle two epochs). The stream
    depends only on the member's seed and split, never on the cohort, and its state is
    checkpointed so a resumed run sees the same batches.
    """

    def __init__(self, masks: torch.Tensor, batch_size: int, seeds: list[int]) -> None:
        self.train_ids = [m.nonzero().squeeze(1).cpu() for m in masks]
        smallest = min(len(ids) for ids in self.train_ids)
        if batch_size > smallest:
            raise ConfigError(
                f"train.batch_size: {batch_size} is larger than the smallest member's training "
                f"set ({smallest} examples); allowed: 1..{smallest}, or null for full batch"
            )
        self.batch_size, self.device = batch_size, masks.device
        # offset so the batch stream is independent of the init and split draws of the same seed
        self.generators = [torch.Generator().manual_seed(int(s) + 0x5EED) for s in seeds]
        self.buffers = [torch.empty(0, dtype=torch.int64) for _ in seeds]

    def _take(self, member: int) -> torch.Tensor:
        buffer = self.buffers[member]
        while len(buffer) < self.batch_size:
            ids = self.train_ids[member]
            perm = torch.randperm(len(ids), generator=self.generators[member])
            buffer = torch.cat([buffer, ids[perm]])
        self.buffers[member] = buffer[self.batch_size :]
        return buffer[: self.batch_size]

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """indices `(E, B)` and uniform weights `(E, B)`."""
        indices = torch.stack([self._take(e) for e in range(len(self.buffers))])
        weights = torch.full(indices.shape, 1.0 / self.batch_size)
        return indices.to(self.device), weights.to(self.device)

    def state_dict(self) -> dict:
        return {"generators": [g.get_state() for g in self.generators], "buffers": self.buffers}

    def load_state_dict(self, state: dict) -> None:
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)
        self.buffers = [b.clone() for b in state["buffers"]]
