"""Config of the `cloudwatch_logs` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.templating import TemplateValue
from kubevigil.sinks.aws import AwsParams


class Params(AwsParams):
    """Write each record as one log event (JSON of `layout`, or of the record body) stamped with the record's time."""

    log_group_name: str = Field(..., min_length=1, max_length=512, pattern=r"^[\w./#-]+$", description="Log group")
    log_stream_name: str = Field(
        "{cluster}", min_length=1, max_length=512, pattern=r"^[^:*]+$",
        description="Log stream; `{cluster}` is replaced by the cluster name",
    )
    create: bool = Field(True, description="Create the log group and stream when they are missing")
    layout: TemplateValue | None = Field(None, description="Event document (Jinja layout); default: the record body")
