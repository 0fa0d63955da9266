"""Settings of the epoch-wise double-descent family: the linear teacher-student task, its
split and the linear student (Pezeshki et al. ICML 2022, "Multi-scale feature learning
dynamics: insights for double descent").

Registered at the task, split and model seams; torch-free like the rest of `config`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from grokscope.config.components import register_model, register_split
from grokscope.config.tasks import register_task
from grokscope.schema import Seed, Strict

Kappa = Annotated[float, Field(ge=1)]
Positive = Annotated[float, Field(gt=0)]


@register_task("teacher_student", description="linear teacher, inputs with two feature "
               "scales (condition number kappa): epoch-wise double descent (Pezeshki et al. "
               "2022)", build="grokscope.tasks.teacher_student:build",
               example={"task": {"name": "teacher_student", "n_train": 24, "dim": 6,
                                 "fast_dims": 4, "kappa": [1, 100], "test_size": 20, "draws": 2},
                        "split": {"name": "teacher_student", "kappa": 100},
                        "train": {"loss": "mse"}})
class TeacherStudentTaskConfig(Strict):
    """Z ~ N(0, I/dim), teacher w ~ N(0, I), y = Z w (+ noise); X = Z U S V^T with S = 1 on
    `fast_dims` directions and 1/kappa on the rest. One block of `n_train` + `test_size` rows
    per (draw, kappa): the draws of a block share nothing, the kappas of one draw share Z, w,
    U and V, so a cohort's kappa = 1 and kappa = 1e5 members are controls of the same data."""

    name: Literal["teacher_student"] = "teacher_student"
    n_train: Annotated[int, Field(ge=1)] = 130
    dim: Annotated[int, Field(ge=1)] = 100
    fast_dims: Annotated[int, Field(ge=0)] = 70
    kappa: Annotated[list[Kappa], Field(min_length=1)] = [1.0, 100.0, 100000.0]
    test_size: Annotated[int, Field(ge=1)] = 1000
    noise: Annotated[float, Field(ge=0)] = 0.0  # std of the label noise (train and test)
    draws: Annotated[int, Field(ge=1)] = 1  # independent datasets; a member uses its split seed
    seed: Seed = 0
    # scale each block's inputs so that lr 1 on the mean squared error is the paper's step
    # eta = 1 / lambda_max(X^T X) on (1/2) |X b - y|^2 (predictions unchanged: b rescales)
    step_normalized: bool = True
    tolerance: Positive = 0.1  # correct: within tolerance * std(y) of the target

    @model_validator(mode="after")
    def _fast_within_dim(self) -> TeacherStudentTaskConfig:
        if self.fast_dims > self.dim:
            raise ValueError(f"fast_dims ({self.fast_dims}) must be at most dim ({self.dim})")
        return self


@register_split("teacher_student", "each member trains on the n_train rows of its own "
                "(draw, kappa) block of a teacher_student task; test = that block's test rows",
                "grokscope.tasks.teacher_student:split")
class TeacherStudentSplitConfig(Strict):
    """`kappa` picks the member's block among the task's `kappa` values; the member's split
    seed (`seed`, else its own seed) picks the draw, 0 .. task.draws - 1."""

    name: Literal["teacher_student"] = "teacher_student"
    kappa: Kappa | list[Kappa] = 100.0  # per-member
    seed: Seed | list[Seed] | None = None  # per-member; None: the member's own seed


@register_model("linear", "a linear student y = x . b (+ c): the model whose gradient-descent "
                "trajectory has a closed form", "grokscope.models.linear:build")
class LinearModelConfig(Strict):
    """Feature tasks only. `init: zeros` starts every member at b = 0, as Pezeshki et al.;
    `uniform` is PyTorch's nn.Linear default."""

    name: Literal["linear"] = "linear"
    bias: bool = False
    init: Literal["zeros", "uniform"] = "zeros"
    init_scale: Positive | list[Positive] = 1.0  # per-member
    output_scale: Positive | list[Positive] = 1.0  # per-member
    center: bool = False


@register_task("geometric_teacher", description="linear teacher, independent Gaussian features "
               "with geometrically spaced scales: a two-layer ReLU network's epoch-wise double "
               "descent (Heckel & Yilmaz 2021)", build="grokscope.tasks.geometric_teacher:build",
               example={"task": {"name": "geometric_teacher", "n_train": 20, "dim": 6,
                                 "test_size": 20, "draws": 2},
                        "split": {"name": "teacher_draw"}, "train": {"loss": "mse"}})
class GeometricTeacherTaskConfig(Strict):
    """x ~ N(0, diag(s^2)) with s = geomspace(scale_range, dim), teacher w ~ N(0, I), y = x . w
    (+ noise): the setup of Heckel & Yilmaz's two-layer network (their `linear_model` with
    `sigmas: geo`, re-implemented). One block of `n_train` + `test_size` rows per draw."""

    name: Literal["geometric_teacher"] = "geometric_teacher"
    n_train: Annotated[int, Field(ge=1)] = 100
    dim: Annotated[int, Field(ge=1)] = 50
    scale_range: tuple[Positive, Positive] = (1.0, 4.0)  # the smallest and largest feature std
    test_size: Annotated[int, Field(ge=1)] = 1000  # theirs: 100 (a noisier risk estimate)
    noise: Annotated[float, Field(ge=0)] = 0.0  # std of the label noise (train and test)
    draws: Annotated[int, Field(ge=1)] = 1  # independent datasets; a member uses its split seed
    seed: Seed = 0
    tolerance: Positive = 0.1  # correct: within tolerance * std(y) of the target


@register_split("teacher_draw", "each member trains on the n_train rows of its own draw of a "
                "geometric_teacher task; test = that draw's test rows",
                "grokscope.tasks.geometric_teacher:split")
class TeacherDrawSplitConfig(Strict):
    """The member's split seed (`seed`, else its own seed) picks the draw, 0 .. draws - 1."""

    name: Literal["teacher_draw"] = "teacher_draw"
    seed: Seed | list[Seed] | None = None  # per-member; None: the member's own seed
