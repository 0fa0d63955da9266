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
    cut into consecutive batches of its own size B_e (a batch may straddle two epochs). The
    stream depends only on the member's seed, split and batch size, never on the cohort, and
    its state is checkpointed so a resumed run sees the same batches. Members with smaller
    batches are padded to the largest with weight-0 columns.
    """

    def __init__(self, masks: torch.Tensor, batch_size: int | list[int], seeds: list[int]) -> None:
        self.train_ids = [m.nonzero().squeeze(1).cpu() for m in masks]
        sizes = batch_size if isinstance(batch_size, list) else [batch_size] * len(seeds)
        for member, (size, ids) in enumerate(zip(sizes, self.train_ids, strict=True)):
            if size > len(ids):
                raise ConfigError(
                    f"train.batch_size: {size} is larger than member {member}'s training set "
                    f"({len(ids)} examples); allowed: 1..{len(ids)}, or null for full batch"
                )
        self.sizes, self.device = [int(s) for s in sizes], masks.device
        width = max(self.sizes)
        self.weights = torch.stack([
            torch.cat([torch.full((s,), 1.0 / s), torch.zeros(width - s)]) for s in self.sizes
        ]).to(self.device)
        # offset so the batch stream is independent of the init and split draws of the same seed
        self.generators = [torch.Generator().manual_seed(int(s) + 0x5EED) for s in seeds]
        self.buffers = [torch.empty(0, dtype=torch.int64) for _ in seeds]

    def _take(self, member: int) -> torch.Tensor:
        buffer, size = self.buffers[member], self.sizes[member]
        while len(buffer) < size:
            ids = self.train_ids[member]
            perm = torch.randperm(len(ids), generator=self.generators[member])
            buffer = torch.cat([buffer, ids[perm]])
        self.buffers[member] = buffer[size:]
        taken = buffer[:size]
        pad = max(self.sizes) - size  # weight-0 columns: repeat the first index
        return torch.cat([taken, taken[:1].expand(pad)]) if pad else taken

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """indices `(E, B_max)` and weights `(E, B_max)`: 1/B_e on a member's own batch."""
        indices = torch.stack([self._take(e) for e in range(len(self.buffers))])
        return indices.to(self.device), self.weights

    def select(self, keep: list[int]) -> None:
        """Keep members `keep` (positions): each keeps its own stream and state."""
        self.train_ids = [self.train_ids[k] for k in keep]
        self.sizes = [self.sizes[k] for k in keep]
        self.generators = [self.generators[k] for k in keep]
        self.buffers = [self.buffers[k] for k in keep]
        self.weights = self.weights[keep][:, :max(self.sizes)].contiguous()

    def state_dict(self) -> dict:
        return {"generators": [g.get_state() for g in self.generators], "buffers": self.buffers}

    def load_state_dict(self, state: dict) -> None:
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)
        self.buffers = [b.clone() for b in state["buffers"]]


# train.sampler -> the stream class (see grokscope.training.device.resolve_sampler)
SAMPLERS: dict[str, type] = {"host": MemberBatchStream}
