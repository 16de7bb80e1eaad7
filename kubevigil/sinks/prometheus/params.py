"""Settings of the `prometheus` sink."""

from __future__ import annotations

import re

from pydantic import Field, field_validator

from kubevigil.core.model import Model

_PREFIX = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)?$")


class Params(Model):
    """`sinks.<name>.prometheus`: expose the latest value of each series on /metrics."""

    prefix: str = Field("kubevigil_", description="Prepended to every metric name")
    stale_after: float = Field(
        600.0, gt=0, description="Seconds after its last update that a series disappears from /metrics"
    )

    @field_validator("prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        if not _PREFIX.match(value):
            raise ValueError(
                f"prefix {value!r} is not a valid start of a Prometheus metric name"
                " (letters, digits, '_' and ':', not starting with a digit)"
            )
        return value
