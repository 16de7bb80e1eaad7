"""Config of the `kinesis` sink."""

from __future__ import annotations

from pydantic import Field, model_validator

from kubevigil.core.templating import TemplateText, TemplateValue
from kubevigil.sinks.aws import AwsParams


class Params(AwsParams):
    """Put each record on a Kinesis data stream: the JSON of `layout`, or of the record body when there is no layout."""

    stream_name: str | None = Field(None, min_length=1, max_length=128, description="Stream name")
    stream_arn: str | None = Field(
        None, pattern=r"^arn:aws[\w-]*:kinesis:", description="Stream ARN; give this or stream_name"
    )
    layout: TemplateValue | None = Field(None, description="Record document (Jinja layout); default: the record body")
    partition_key: TemplateText | None = Field(
        None, description="Partition key template (e.g. '{{ involvedObject.namespace }}'); default: the record id"
    )

    @model_validator(mode="after")
    def _one_stream(self) -> Params:
        if (self.stream_name is None) == (self.stream_arn is None):
            raise ValueError("give exactly one of stream_name and stream_arn")
        return self
