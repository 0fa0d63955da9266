"""Training batches per member: full batch, or mini-batches from each member's own stream."""

from __future__ import annotations

from collections.abc import Callable

import torch

from grokscope.errors import ConfigError
from grokscope.tasks.base import TaskData
from grokscope.training.orderings import reshuffle


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

    def __init__(self, masks: torch.Tensor, batch_size: int | list[int], seeds: list[int],
                 orders: list[Callable[..., torch.Tensor]] | None = None,
                 task: TaskData | None = None) -> None:
        """`orders`: each member's ordering (grokscope.training.orderings), called once per
        epoch with `task`; None: reshuffle every epoch."""
        self.train_ids = [m.nonzero().squeeze(1).cpu() for m in masks]
        self.orders, self.task, self.seeds = orders or [reshuffle] * len(seeds), task, seeds
        for order, ids, seed in zip(self.orders, self.train_ids, seeds, strict=True):
            if order is not reshuffle:  # refused now, not at the first batch: a throwaway
                order(ids, task, torch.Generator(), seed)  # generator, the stream unchanged
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
            epoch = self.orders[member](self.train_ids[member], self.task,
                                        self.generators[member], self.seeds[member])
            buffer = torch.cat([buffer, epoch])
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
        self.orders = [self.orders[k] for k in keep]
        self.seeds = [self.seeds[k] for k in keep]
        self.sizes = [self.sizes[k] for k in keep]
        self.generators = [self.generators[k] for k in keep]
        self.buffers = [self.buffers[k] for k in keep]
        self.weights = self.weights[keep][:, :max(self.sizes)].contiguous()

    def state_dict(self) -> dict:
        # a copy: `_take` replaces the list's entries as the stream moves on
        return {"generators": [g.get_state() for g in self.generators],
                "buffers": [b.clone() for b in self.buffers]}

    def load_state_dict(self, state: dict) -> None:
        for g, s in zip(self.generators, state["generators"], strict=True):
            g.set_state(s)
        self.buffers = [b.clone() for b in state["buffers"]]


# a Mersenne prime: keys stay below 2^31, so every product below stays inside int64
_P = 2**31 - 1


def _mix(x: torch.Tensor) -> torch.Tensor:
    """A 31-bit integer hash (three rounds of a Lehmer step and an xor-shift) of int64
    tensors in [0, 2^31): the keys whose sort order is a permutation."""
    for a, c in ((48271, 12345), (16807, 9876543), (69621, 424242)):
        x = (x * a + c) % _P
        x = x ^ (x >> 11)
    return x


def permutation_keys(seeds: torch.Tensor, epochs: torch.Tensor, n: int) -> torch.Tensor:
    """Keys `(E, K, n)` of positions 0..n-1 for member seeds `(E,)` and epochs `(E, K)`:
    a function of (seed, epoch, position) alone, so a member's order never depends on the
    cohort it is in or on the device."""
    base = _mix((_mix(seeds % _P)[:, None] + epochs) % _P)  # (E, K)
    positions = torch.arange(n, device=seeds.device)
    return _mix((base[..., None] + positions) % _P)


class DeviceBatchStream:
    """Mini-batches drawn without replacement from each member's train split, on the
    training device, with no per-member Python loop and no host-to-device copy.

    Member e's stream is the same as `MemberBatchStream`'s in kind (consecutive batches of
    size B_e cut from a sequence of random permutations of its train indices, straddling
    epochs) but not in values: permutation k is the sort order of counter-hash keys of
    (seed, k, position) (`permutation_keys`) instead of a torch generator's draw. Batch t of
    member e covers stream positions t B_e .. t B_e + B_e - 1, so the whole state is t;
    the permutations of the (at most two) epochs a batch touches are cached per member and
    redrawn, for every member at once, when one moves on.
    """

    def __init__(self, masks: torch.Tensor, batch_size: int | list[int], seeds: list[int]) -> None:
        counts = masks.sum(1)
        sizes = batch_size if isinstance(batch_size, list) else [batch_size] * len(seeds)
        for member, (size, count) in enumerate(zip(sizes, counts.tolist(), strict=True)):
            if size > count:
                raise ConfigError(
                    f"train.batch_size: {size} is larger than member {member}'s training set "
                    f"({count} examples); allowed: 1..{count}, or null for full batch")
        self.device = masks.device
        self.sizes = [int(s) for s in sizes]
        self.counts = [int(c) for c in counts.tolist()]
        n_max = max(self.counts)
        order = torch.argsort((~masks).to(torch.int8), dim=1, stable=True)
        self.train_ids = order[:, :n_max]  # (E, n_max): each member's train rows first
        self.seeds = torch.tensor([int(s) + 0x5EED for s in seeds], device=self.device)
        self._set_tensors()
        self.drawn = 0
        self._base: list[int] | None = None  # first cached epoch per member
        self._perms = torch.empty(0, dtype=torch.int64, device=self.device)

    def _set_tensors(self) -> None:
        width = max(self.sizes)
        size = torch.tensor(self.sizes, device=self.device)
        self._size_t, self._count_t = size[:, None], torch.tensor(self.counts, device=self.device)
        columns = torch.arange(width, device=self.device)
        self._columns = torch.minimum(columns, size[:, None] - 1)  # padding repeats the last
        self.weights = (columns < size[:, None]) / size[:, None].to(torch.float32)
        self._member = torch.arange(len(self.sizes), device=self.device)[:, None]

    def _cache(self, base: list[int]) -> None:
        """The row orders of epochs base_e and base_e + 1 of every member: `(E, 2, n_max)`."""
        n_max = self.train_ids.shape[1]
        self._base_t = torch.tensor(base, device=self.device)[:, None]
        epochs = self._base_t + torch.arange(2, device=self.device)
        keys = permutation_keys(self.seeds, epochs, n_max)
        outside = torch.arange(n_max, device=self.device) >= self._count_t[:, None]
        keys = keys.masked_fill(outside[:, None, :], _P)  # padding sorts last
        self._perms = torch.argsort(keys, dim=-1, stable=True)
        self._base = base

    def next(self) -> tuple[torch.Tensor, torch.Tensor]:
        """indices `(E, B_max)` and weights `(E, B_max)`: 1/B_e on a member's own batch."""
        t = self.drawn
        base = [t * b // n for b, n in zip(self.sizes, self.counts, strict=True)]
        if base != self._base:
            self._cache(base)
        position = t * self._size_t + self._columns  # (E, B_max) stream positions
        epoch = position // self._count_t[:, None]
        slot = epoch - self._base_t  # 0 or 1
        rank = position % self._count_t[:, None]
        rows = self._perms[self._member, slot, rank]
        self.drawn = t + 1
        return self.train_ids.gather(1, rows), self.weights

    def select(self, keep: list[int]) -> None:
        """Keep members `keep` (positions): each keeps its own stream."""
        index = torch.tensor(keep, dtype=torch.long, device=self.device)
        self.sizes = [self.sizes[k] for k in keep]
        self.counts = [self.counts[k] for k in keep]
        n_max = max(self.counts) if keep else 0
        self.train_ids = self.train_ids[index][:, :n_max].contiguous()
        self.seeds = self.seeds[index]
        if keep:
            self._set_tensors()
        self._base = None  # redrawn for the kept members on the next batch

    def state_dict(self) -> dict:
        return {"drawn": self.drawn}

    def load_state_dict(self, state: dict) -> None:
        if "drawn" not in state:
            raise ValueError("train.sampler: this checkpoint's batches came from the host "
                             "sampler; resume it with train.sampler: host")
        self.drawn, self._base = int(state["drawn"]), None


# train.sampler -> the stream class (see grokscope.training.device.resolve_sampler)
SAMPLERS: dict[str, type] = {"host": MemberBatchStream, "device": DeviceBatchStream}
