"""The base of every config section: unknown keys refused, numbers finite, booleans not numbers.

YAML reads `true`, `yes` and `on` as booleans and pydantic's lax mode would take them as 1
(`members: true` trains one member); `.inf` and `1e400` are floats that train straight to
NaN. Both are refused here once, for every section, with the field named.
"""

from __future__ import annotations

import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

# Seeds feed numpy (no negatives) and torch (64 bits); a cohort adds its member index and the
# batch stream an offset, so keep well inside both.
Seed = Annotated[int, Field(ge=0, lt=2**62)]


def first_error(error: ValidationError, default: str = "config") -> str:
    """`key: message` of a pydantic error's first problem: the one line a user sees."""
    first = error.errors()[0]
    key = ".".join(str(part) for part in first["loc"]) or default
    return f"{key}: {first['msg']}"


def _accepts_bool(annotation: Any) -> bool:
    if annotation is bool:
        return True
    return any(_accepts_bool(arg) for arg in typing.get_args(annotation))


def _has_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return True
    return isinstance(value, list | tuple) and any(_has_bool(v) for v in value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_bool_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for name, value in data.items():
            field = cls.model_fields.get(name) if isinstance(name, str) else None
            if field is not None and _has_bool(value) and not _accepts_bool(field.annotation):
                raise ValueError(f"{name} must be a number or text, not a boolean, got "
                                 f"{value!r} (YAML reads true/false/yes/no/on/off as booleans)")
        return data


__all__ = ["Seed", "Strict"]
