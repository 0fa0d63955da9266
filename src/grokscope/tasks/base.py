"""The common task interface: every task builds all of its examples once, as tensors."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class TaskData:
    """All examples of a task, built once and shared by every cohort member.

    Attributes:
        name: task name as registered.
        inputs: `(N, T)` token ids for token tasks, `(N, D)` floats for feature tasks.
        labels: `(N,)` class ids, or float targets for a regression.
        n_classes: size of the readout (1 for a regression).
        vocab_size: number of distinct input tokens (token tasks), else None.
        groups: named `(N,)` integer ids (operands, subclasses) that probes and splits use.
        meta: task parameters, for the record.
        tolerance: regressions only: an example counts as correct when the prediction is
            within this distance of its target (None: a classification, correct = argmax).
    """

    name: str
    inputs: torch.Tensor
    labels: torch.Tensor
    n_classes: int
    vocab_size: int | None = None
    groups: dict[str, torch.Tensor] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)
    tolerance: float | None = None

    def __post_init__(self) -> None:
        # group counts, read once on the host: probes then never sync the device for them
        self.group_sizes = {k: int(v.max()) + 1 if v.numel() else 0
                            for k, v in self.groups.items()}

    @property
    def n_examples(self) -> int:
        return int(self.labels.shape[0])

    @property
    def regression(self) -> bool:
        return self.tolerance is not None

    @property
    def kind(self) -> str:
        """'tokens' or 'features': which model families can read the inputs."""
        return "tokens" if self.vocab_size is not None else "features"

    def to(self, device: torch.device | str) -> TaskData:
        return TaskData(
            name=self.name,
            inputs=self.inputs.to(device),
            labels=self.labels.to(device),
            n_classes=self.n_classes,
            vocab_size=self.vocab_size,
            groups={k: v.to(device) for k, v in self.groups.items()},
            meta=dict(self.meta),
            tolerance=self.tolerance,
        )


def operand_pairs(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every ordered pair (a, b) of range(n), a-major: the rows of a binary-operation table."""
    a, b = torch.cartesian_prod(torch.arange(n), torch.arange(n)).unbind(-1)
    return a, b


def operation_table(name: str, a: torch.Tensor, b: torch.Tensor, labels: torch.Tensor,
                    n_classes: int, vocab_size: int, meta: dict) -> TaskData:
    """A binary-operation task: inputs are the token pairs `(a, b)`, kept as groups `a` and
    `b` for per-operand probes (modular arithmetic, S_n, the random table)."""
    return TaskData(name=name, inputs=torch.stack([a, b], dim=-1), labels=labels,  # (N, 2)
                    n_classes=n_classes, vocab_size=vocab_size, groups={"a": a, "b": b},
                    meta=meta)
