"""The base of every config model: unknown keys are errors, field names are the YAML keys, numbers are bounded."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from kubevigil.core.signals import SignalKind

# A number beyond this is a typo or an attack in any config (a terabyte, or 31,700 years in seconds); a field
# that needs more declares its own `le`. Python's big ints and float infinity would otherwise reach timers and APIs.
NUMBER_LIMIT = 10**12


class Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    # Keys this model no longer takes, with where they went: the loader names the new place instead of a typo.
    moved_keys: ClassVar[Mapping[str, str]] = {}

    @field_validator("*", mode="after")
    @classmethod
    def _bounded_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str | bool | BaseModel) or value is None:  # the common case, decided without lookups
            return value
        own = _OWN_BOUND.get(cls)
        if own is None:
            own = _OWN_BOUND[cls] = frozenset(
                name for name, field in cls.model_fields.items()
                if any(isinstance(m, annotated_types.Le | annotated_types.Lt) for m in field.metadata))
        if info.field_name not in own:
            check_number(value)
        return value


_OWN_BOUND: dict[type[BaseModel], frozenset[str]] = {}  # per model: the fields that declare their own upper bound


def check_number(value: Any) -> None:
    """ValueError unless every number in `value` (or in the list/mapping it is) is finite and within NUMBER_LIMIT."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        if isinstance(value, float) and math.isnan(value):
            raise ValueError("must be a number; got nan")
        if value > NUMBER_LIMIT:
            raise ValueError(f"must be at most {NUMBER_LIMIT} (kubevigil's bound for any number); got {_number(value)}")
        if value < -NUMBER_LIMIT:
            raise ValueError(f"must be at least -{NUMBER_LIMIT} (kubevigil's bound for any number); got {_number(value)}")
    elif isinstance(value, list | tuple):
        for item in value:
            check_number(item)
    elif isinstance(value, dict):
        for item in value.values():
            check_number(item)


def _number(value: float) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


# (key path inside a role's section, sink name, kind of value the role sends to it)
SinkRef = tuple[tuple[str | int, ...], str, SignalKind]


class Section(Model):
    """A role's config section: the loader checks every sink it names, once, against `sinks:`."""

    def sink_refs(self) -> Iterable[SinkRef]:
        """Each sink reference of the section; a section that sends nothing to sinks has none."""
        return ()


class SecretKeyRef(Model):
    """A key of a Secret, read through the API when needed (a rotation takes effect within 30 s)."""

    secret: str = Field(min_length=1, description="Secret name")
    namespace: str | None = Field(None, description="Secret namespace (default: kubevigil's own)")
    key: str = Field("token", min_length=1, description="Key in the Secret's data")
