"""Cohort linear student: y = x . b (+ c), the model of the teacher-student double descent
(Pezeshki et al. 2022), whose gradient-descent trajectory has a closed form."""

from __future__ import annotations

import torch

from grokscope.config.teacher_student import LinearModelConfig
from grokscope.errors import ConfigError
from grokscope.models.cohort import CohortModule, constant_init, fan_in_bound, linear, uniform_init
from grokscope.tasks.base import TaskData


class CohortLinear(CohortModule):
    """E linear maps `(D,) -> (C,)`; `init` zeros (b0 = 0, as Pezeshki et al.) or PyTorch's
    nn.Linear default U(-1/sqrt(D), 1/sqrt(D))."""

    w_out: torch.Tensor  # (E, D, C)
    b_out: torch.Tensor  # (E, C), with bias only

    def __init__(self, n_members: int, n_features: int, n_classes: int, bias: bool = False,
                 init: str = "zeros") -> None:
        super().__init__(n_members)
        self.use_bias = bias
        rule = constant_init(0.0) if init == "zeros" else uniform_init(fan_in_bound(n_features))
        self.add_param("w_out", (n_features, n_classes), rule)
        if bias:
            self.add_param("b_out", (n_classes,), rule, bias=True)

    def features(self, inputs: torch.Tensor, prepared: dict | None = None) -> torch.Tensor:
        """The inputs themselves: a linear model has no hidden representation."""
        return inputs

    def input_layer(self, inputs: torch.Tensor) -> torch.Tensor:
        return inputs

    def from_input_layer(self, h: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """Outputs and the (empty) list of hidden pre-activations: a linear map has no
        neurons, so its local complexity is 0."""
        return self.forward(h), []

    def forward(self, inputs: torch.Tensor,
                prepared: dict[str, torch.Tensor] | None = None) -> torch.Tensor:
        """Outputs `(E, N, C)` of features `(E, N, D)`."""
        return linear(inputs, self.w_out, self.b_out if self.use_bias else None)


def build(config: LinearModelConfig, task: TaskData, n_members: int) -> CohortModule:
    if task.kind != "features":
        raise ConfigError(f"model 'linear': task '{task.name}' has token inputs (allowed "
                          "models: mlp, transformer)")
    return CohortLinear(n_members, task.inputs.shape[1], task.n_classes, bias=config.bias,
                        init=config.init)
