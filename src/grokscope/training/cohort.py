"""The cohort engine: E members of one architecture trained in lockstep as one model."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from grokscope.config import ExperimentConfig
from grokscope.errors import ConfigError
from grokscope.models import build_model
from grokscope.models.cohort import CohortModule
from grokscope.tasks import TaskData, build_masks, build_task
from grokscope.training.batches import MemberBatchStream, full_batch
from grokscope.training.losses import per_example_loss
from grokscope.training.members import MemberSpec, resolve_members
from grokscope.training.optim import CohortAdamW, clip_by_member_norm


@dataclass
class Evaluation:
    """One evaluation pass over every example for every member.

    `loss` and `correct` are per example `(E, N)` (probes group them); the split summaries are
    `(E,)` means over each member's own train mask and its complement.
    """

    loss: torch.Tensor
    correct: torch.Tensor
    train_loss: torch.Tensor
    train_acc: torch.Tensor
    test_loss: torch.Tensor
    test_acc: torch.Tensor


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when present; asking for CUDA without it is a config error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(name)
    except RuntimeError:
        raise ConfigError(f"train.device: unknown device {name!r} (allowed: auto, cpu, cuda, "
                          "cuda:N)") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"train.device: {name!r} requested but CUDA is not available here "
                          "(allowed: auto, cpu)")
    return device


# Member-examples per chunk of work. A pass over (E, n) examples is cut into column chunks of
# about this many member-examples so a cohort's activations stay cache-sized, like one run's:
# measured on 2 CPU cores (p=97, E=16), unchunked evaluation cost 106 ms per member, chunked 60.
CHUNK_MEMBER_EXAMPLES = 4096


def _chunks(n: int, n_members: int, chunk: int | None = None) -> list[slice]:
    size = chunk or max(32, CHUNK_MEMBER_EXAMPLES // n_members)
    return [slice(start, start + size) for start in range(0, n, size)]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum(1) / mask.sum(1)


class Cohort:
    """Model, optimizer, data and train masks of E members; one `step()` trains them all."""

    def __init__(self, config: ExperimentConfig, device: torch.device | None = None) -> None:
        self.config = config
        self.device = device or resolve_device(config.train.device)
        self.members: list[MemberSpec] = resolve_members(config)
        seeds = [m.seed for m in self.members]
        task = build_task(config.task)
        masks = build_masks(config.split, task, [m.split_seed for m in self.members],
                            [m.fraction for m in self.members])
        self.task: TaskData = task.to(self.device)
        self.masks = masks.to(self.device)  # (E, N) True = train
        self.model: CohortModule = build_model(config.model, task, len(self.members))
        self.model.initialize(seeds, [m.init_scale for m in self.members])
        self.model.to(self.device)
        self.optimizer = self._build_optimizer()
        batch = config.train.batch_size
        self.stream = MemberBatchStream(self.masks, batch, seeds) if batch else None
        self._full = None if batch else full_batch(self.masks)

    @property
    def n_members(self) -> int:
        return len(self.members)

    def _build_optimizer(self) -> CohortAdamW:
        def column(name: str) -> torch.Tensor:
            values = [getattr(m, name) for m in self.members]
            return torch.tensor(values, dtype=torch.float32, device=self.device)

        optim = self.config.optim
        transforms = [clip_by_member_norm(optim.grad_clip)] if optim.grad_clip else []
        return CohortAdamW(
            list(self.model.parameters()), lr=column("lr"), weight_decay=column("weight_decay"),
            beta1=column("beta1"), beta2=column("beta2"), eps=optim.eps,
            warmup_steps=optim.warmup_steps, transforms=transforms,
        )

    def _loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        train = self.config.train
        return per_example_loss(logits, labels, train.loss, train.loss_dtype)

    def step(self) -> None:
        """One optimizer update of every member on its own batch (full or mini).

        The objective is the sum of the members' mean losses, so each member's gradient is
        its own. Large batches are processed in cache-sized column chunks whose gradients
        accumulate: the same gradient, up to float summation order.
        """
        indices, weights = self._full if self.stream is None else self.stream.next()
        self.optimizer.zero_grad()
        chunks = _chunks(indices.shape[1], self.n_members)
        prepared = self.model.prepare()  # weight-only tensors: once per step, not per chunk
        staged = len(chunks) > 1 and bool(prepared)
        # With several chunks, backward stops at detached copies of the prepared tensors and
        # their accumulated gradients flow into the weights once, in a second stage.
        leaves = (
            {k: v.detach().requires_grad_() for k, v in prepared.items()} if staged else prepared
        )
        for cols in chunks:
            batch = indices[:, cols]
            logits = self.model(self.task.inputs[batch], leaves)  # (E, b, C)
            loss = (self._loss(logits, self.task.labels[batch]) * weights[:, cols]).sum()
            loss.backward()
        if staged:
            torch.autograd.backward(list(prepared.values()), [leaves[k].grad for k in prepared])
        self.optimizer.step()

    @torch.no_grad()
    def evaluate(self, chunk: int | None = None) -> Evaluation:
        """Loss and accuracy on every example for every member, in one pass (cache-sized chunks)."""
        losses, correct = [], []
        prepared = self.model.prepare()
        for rows in _chunks(self.task.n_examples, self.n_members, chunk):
            inputs, labels = self.task.inputs[rows], self.task.labels[rows]
            logits = self.model(inputs.expand(self.n_members, *inputs.shape), prepared)
            losses.append(self._loss(logits, labels))
            correct.append(logits.argmax(-1) == labels)
        loss, hit = torch.cat(losses, 1), torch.cat(correct, 1).to(torch.float32)
        train, test = self.masks, ~self.masks
        return Evaluation(
            loss=loss, correct=hit,
            train_loss=_masked_mean(loss, train), train_acc=_masked_mean(hit, train),
            test_loss=_masked_mean(loss, test), test_acc=_masked_mean(hit, test),
        )

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "stream": self.stream.state_dict() if self.stream else None,
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        if self.stream is not None:
            self.stream.load_state_dict(state["stream"])
