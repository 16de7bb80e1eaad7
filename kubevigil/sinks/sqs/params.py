"""Config of the `sqs` sink."""

from __future__ import annotations

from pydantic import Field, model_validator

from kubevigil.core.templating import TemplateValue
from kubevigil.sinks.aws import AwsParams


class Params(AwsParams):
    """Send each record as one SQS message: the JSON of `layout`, or of the record body when there is no layout."""

    queue_name: str | None = Field(
        None, min_length=1, max_length=80, description="Queue name (resolved to its URL on the first send)"
    )
    queue_url: str | None = Field(None, min_length=1, description="Queue URL; give this or queue_name")
    layout: TemplateValue | None = Field(None, description="Message document (Jinja layout); default: the record body")
    message_group_id: str | None = Field(
        None, min_length=1, max_length=128,
        description="FIFO queues: one group for all messages (strict order); default: the record id (no ordering)",
    )

    @model_validator(mode="after")
    def _one_queue(self) -> Params:
        if (self.queue_name is None) == (self.queue_url is None):
            raise ValueError("give exactly one of queue_name and queue_url")
        return self

    @property
    def fifo(self) -> bool:
        return (self.queue_url or self.queue_name or "").endswith(".fifo")
