"""Config of the `cloudwatch` metric sink."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from kubevigil.sinks.aws import AwsParams


def check_namespace(value: str) -> str:
    """CloudWatch rejects the reserved `AWS/` prefix; catch it at load time rather than on every send."""
    if value.startswith("AWS/"):
        raise ValueError(f"namespace {value!r}: the AWS/ prefix is reserved for AWS services")
    return value


class Params(AwsParams):
    """Publish metrics with PutMetricData; region and credentials from the standard AWS chain."""

    namespace: str = Field(..., min_length=1, max_length=255, pattern=r"^[^:]+$", description="CloudWatch namespace")
    storage_resolution: Literal[1, 60] = Field(
        60, description="1 = high-resolution (per-second) metrics, 60 = standard resolution"
    )

    @field_validator("namespace")
    @classmethod
    def _namespace_ok(cls, v: str) -> str:
        return check_namespace(v)
