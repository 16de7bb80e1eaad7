"""Config of the `emf` sink."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from kubevigil.core.model import Model
from kubevigil.sinks.cloudwatch.params import check_namespace


class Params(Model):
    """Write metrics as CloudWatch Embedded Metric Format JSON lines (for clusters that ship logs, not API calls)."""

    namespace: str = Field(..., min_length=1, max_length=255, pattern=r"^[^:]+$", description="CloudWatch namespace")
    storage_resolution: Literal[1, 60] = Field(60, description="1 = high-resolution metrics, 60 = standard")
    stream: Literal["stdout", "stderr"] = Field("stdout", description="Where the JSON lines go")

    @field_validator("namespace")
    @classmethod
    def _namespace_ok(cls, v: str) -> str:
        return check_namespace(v)
