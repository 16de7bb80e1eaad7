"""Config of the `firehose` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.templating import TemplateValue
from kubevigil.sinks.aws import AwsParams


class Params(AwsParams):
    """Put each record on a Firehose stream as one line of JSON (newline-delimited, so S3 objects split cleanly)."""

    delivery_stream_name: str = Field(..., min_length=1, max_length=64, description="Delivery stream name")
    layout: TemplateValue | None = Field(None, description="Line document (Jinja layout); default: the record body")
    de_dot: bool = Field(
        False, description="Replace dots with underscores in the keys of every `labels` and `annotations` map"
    )
