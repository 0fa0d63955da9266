"""Settings of the gradient transforms a run adds to its optimizer (`optim.transforms`).

Each transform is a settings class registered under its `name`, with a `build(...)` that
makes the link (`grokscope.training.optim.base.Transform`), importing torch only then; so
a new transform is one file: its settings, its `build`, one `@TRANSFORMS.register`.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from grokscope.registry import Registry
from grokscope.schema import Strict, first_error

TRANSFORMS: Registry[type[TransformSpec]] = Registry("transform")


class TransformSpec(Strict):
    """Base of every transform's settings: `name` picks the class."""

    name: str

    def build(self, n_members: int, device: Any) -> Any:
        raise NotImplementedError


@TRANSFORMS.register("clip_by_member_norm", "scale each member's gradient to a global L2 "
                     "norm of at most max_norm (per member, never across members)")
class ClipByMemberNormSpec(TransformSpec):
    name: str = "clip_by_member_norm"
    max_norm: Annotated[float, Field(gt=0)]

    def build(self, n_members: int, device: Any) -> Any:
        from grokscope.training.optim.transforms import ClipByMemberNorm

        return ClipByMemberNorm(self.max_norm)


def parse_transform(data: Any, index: int) -> TransformSpec:
    """One entry of `optim.transforms`, validated by its registered settings class."""
    from pydantic import ValidationError

    if isinstance(data, TransformSpec):
        return data
    where = f"optim.transforms.{index}"
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        raise ValueError(f"{where}: a mapping with a `name` (allowed: {', '.join(TRANSFORMS)})")
    spec = TRANSFORMS.get(data["name"], where=f"{where}.name")
    try:
        return spec.model_validate(data)
    except ValidationError as exc:
        raise ValueError(f"{where}.{first_error(exc)}") from None
