"""Settings of the gradient transforms a run adds to its optimizer (`optim.transforms`).

Each transform is a settings class registered under its `name`, with a `build(...)` that
makes the link (`grokscope.training.optim.base.Transform`), importing torch only then; so
a new transform is one file: its settings, its `build`, one `@TRANSFORMS.register`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import Field

from grokscope.registry import Registry
from grokscope.schema import Strict

TRANSFORMS: Registry[type[TransformSpec]] = Registry("transform")

Unit = Annotated[float, Field(gt=0, lt=1)]
NonNegative = Annotated[float, Field(ge=0)]
Positive = Annotated[float, Field(gt=0)]


class TransformSpec(Strict):
    """Base of every transform's settings: `name` picks the class; `members` (indices)
    applies it to those members only, the others' updates passing through bit for bit, so
    one cohort holds a baseline and each method side by side. A numeric setting given as a
    list holds one value per member."""

    name: str
    members: list[Annotated[int, Field(ge=0)]] | None = None

    def build(self, n_members: int, device: Any) -> Any:
        raise NotImplementedError

    def build_named(self, n_members: int, device: Any, names: Sequence[str]) -> Any:
        """`build` for a link that reads the parameters' names (`names`, in the optimizer's
        order); the others ignore them."""
        return self.build(n_members, device)

    def make(self, n_members: int, device: Any, names: Sequence[str] = ()) -> Any:
        """The link, restricted to `members` when given."""
        link = self.build_named(n_members, device, names)
        if self.members is None:
            return link
        import torch

        from grokscope.training.optim.base import Masked

        if max(self.members, default=0) >= n_members:
            raise ValueError(f"members: {self.members} names a member beyond the cohort's "
                             f"{n_members} (allowed: 0..{n_members - 1})")
        mask = torch.zeros(n_members, dtype=torch.bool, device=device)
        mask[self.members] = True
        return Masked(link, mask)

    def column(self, field: str, n_members: int, device: Any) -> Any:
        """A setting as a `(E,)` float32 tensor: a scalar broadcast, a list checked for
        length."""
        import torch

        values = member_values(getattr(self, field), field, n_members)
        return torch.tensor(values, dtype=torch.float32, device=device)


def member_values(value: Any, where: str, n_members: int) -> list[Any]:
    """One value per member: a scalar broadcast, a list checked for length."""
    values = value if isinstance(value, list) else [value] * n_members
    if len(values) != n_members:
        raise ValueError(f"{where}: has {len(values)} values but the cohort has "
                         f"{n_members} members")
    return values


@TRANSFORMS.register("clip_by_member_norm", "scale each member's gradient to a global L2 "
                     "norm of at most max_norm (per member, never across members)")
class ClipByMemberNormSpec(TransformSpec):
    name: str = "clip_by_member_norm"
    max_norm: Annotated[float, Field(gt=0)]

    def build(self, n_members: int, device: Any) -> Any:
        from grokscope.training.optim.transforms import ClipByMemberNorm

        return ClipByMemberNorm(self.max_norm)


@TRANSFORMS.register("grokfast_ema", "Grokfast-EMA (Lee et al. 2024): g + lamb * EMA_alpha(g), "
                     "the slow gradient amplified")
class GrokfastEMASpec(TransformSpec):
    """Defaults are `grokfast.py`'s function defaults (its README's copy says 0.99 / 5:
    pin both in a recipe)."""

    name: str = "grokfast_ema"
    alpha: Unit | list[Unit] = 0.98  # per member
    lamb: NonNegative | list[NonNegative] = 2.0  # per member; 0: no filter

    def build(self, n_members: int, device: Any) -> Any:
        from grokscope.training.optim.grokfast import GrokfastEMA

        return GrokfastEMA(self.column("alpha", n_members, device),
                           self.column("lamb", n_members, device))


@TRANSFORMS.register("grokfast_ma", "Grokfast-MA (Lee et al. 2024): g + lamb * mean of the last "
                     "`window` gradients, once the window is full")
class GrokfastMASpec(TransformSpec):
    name: str = "grokfast_ma"
    window: Annotated[int, Field(ge=1)] = 100
    lamb: NonNegative | list[NonNegative] = 5.0  # per member
    off_until: Annotated[int, Field(ge=0)] = 0  # two-stage trigger: no filter until this step

    def build(self, n_members: int, device: Any) -> Any:
        from grokscope.training.optim.grokfast import GrokfastMA

        return GrokfastMA(self.window, self.column("lamb", n_members, device), self.off_until)


@TRANSFORMS.register("perp_grad", "⊥Grad (Prieto et al. 2025): the gradient less its component "
                     "along the weights, per tensor, rescaled to its norm")
class PerpGradSpec(TransformSpec):
    name: str = "perp_grad"
    rescale: bool = True  # the code's rescaling to |g|; false: the paper's projection alone

    def build(self, n_members: int, device: Any) -> Any:
        from grokscope.training.optim.geometry import PerpGrad

        return PerpGrad(self.rescale)


@TRANSFORMS.register("norm_constraint", "Omnigrok (Liu et al. 2023): after each update, rescale "
                     "each member's weights to factor x their initial global norm")
class NormConstraintSpec(TransformSpec):
    name: str = "norm_constraint"
    factor: Positive | list[Positive] = 1.0  # per member

    def build(self, n_members: int, device: Any) -> Any:
        from grokscope.training.optim.geometry import NormConstraint

        return NormConstraint(self.column("factor", n_members, device))


@TRANSFORMS.register("scale_by_parameter", "multiply named parameters' gradients by a factor "
                     "(per member): a per-layer step size under SGD (Heckel & Yilmaz 2021)")
class ScaleByParameterSpec(TransformSpec):
    """Under SGD a factor on a parameter's gradient is a factor on its step size: Heckel &
    Yilmaz (2021) remove epoch-wise double descent by giving each layer its own. Adam's
    direction is invariant to it (except where eps dominates). Parameters not named pass
    through; a factor given as a list holds one value per member."""

    name: str = "scale_by_parameter"
    factors: Annotated[dict[str, Positive | list[Positive]], Field(min_length=1)]

    def build_named(self, n_members: int, device: Any, names: Sequence[str]) -> Any:
        from grokscope.training.optim.transforms import ScaleByParameter

        unknown = sorted(set(self.factors) - set(names))
        if unknown:
            raise ValueError(f"factors: {', '.join(unknown)} is not a parameter of this model "
                             f"(allowed: {', '.join(names)})")
        columns = [member_values(self.factors.get(name, 1.0), f"factors.{name}", n_members)
                   for name in names]
        import torch

        factors = torch.tensor(columns, dtype=torch.float32, device=device).T.contiguous()
        return ScaleByParameter(factors, [name in self.factors for name in names])


PruneKind = Literal["magnitude", "random", "rescaled_l2", "rescaled_l1", "none"]
StepRef = Annotated[int, Field(ge=0)] | Literal["final", "alpha0", "alpha1", "transition"]
Keep = Annotated[float, Field(gt=0, le=1)]


@TRANSFORMS.register("prune", "a lottery ticket (Minegishi et al. 2024): the source run's "
                     "largest weights at a step kept, the rest zero from step 0 (or controls)")
class PruneSpec(TransformSpec):
    """Per member: `kind` (magnitude, random, rescaled_l2/l1: dense at the ticket's norm,
    none: dense), the source `step` (a kept step, or final / alpha0 / alpha1 / transition of
    the source member's curve), `keep` (the share of weights kept: Minegishi et al.'s
    "sparsity") and `member` (the source member; None: the member at the same position).
    A member re-draws its step-0 weights from its own seed: give it its source member's
    (see `grokscope.training.optim.tickets`)."""

    name: str = "prune"
    source: str  # a run directory that kept weights (train.keep_weights)
    kind: PruneKind | list[PruneKind] = "magnitude"
    step: StepRef | list[StepRef] = "final"
    keep: Keep | list[Keep] = 0.4
    member: Annotated[int, Field(ge=0)] | list[Annotated[int, Field(ge=0)]] | None = None
    params: list[str] | None = None  # None: every weight matrix and embedding
    seed: Annotated[int, Field(ge=0)] = 0  # random masks
    # magnitude over all pruned tensors together (Minegishi et al.), or each on its own
    scope: Literal["global", "layer"] = "global"

    def build_named(self, n_members: int, device: Any, names: Sequence[str]) -> Any:
        if self.members is not None:
            raise ValueError("members: not for prune (give the members that stay dense "
                             "kind: none)")
        from grokscope.training.optim.tickets import build_prune

        sources = (list(range(n_members)) if self.member is None
                   else member_values(self.member, "member", n_members))
        return build_prune(self.source, member_values(self.kind, "kind", n_members),
                           member_values(self.step, "step", n_members),
                           member_values(self.keep, "keep", n_members), sources, self.params,
                           self.seed, names, device, self.scope)


def parse_transform(data: Any, index: int) -> TransformSpec:
    """One entry of `optim.transforms`, validated by its registered settings class."""
    if isinstance(data, TransformSpec):
        return data
    where = f"optim.transforms.{index}"
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError(f"{where}: a mapping with a `name` (allowed: {', '.join(TRANSFORMS)})")
    spec = TRANSFORMS.get(data["name"], where=f"{where}.name")
    from grokscope.config.schema import validate_entry

    return validate_entry(spec, data, where)
