"""Config of the `sns` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.templating import TemplateValue
from kubevigil.sinks.aws import AwsParams


class Params(AwsParams):
    """Publish each record as one SNS message: the JSON of `layout`, or of the record body when there is no layout."""

    topic_arn: str = Field(..., pattern=r"^arn:aws[\w-]*:sns:", description="Topic ARN")
    layout: TemplateValue | None = Field(None, description="Message document (Jinja layout); default: the record body")
    message_group_id: str | None = Field(
        None, min_length=1, max_length=128,
        description="FIFO topics: one group for all messages (strict order); default: the record id (no ordering)",
    )

    @property
    def fifo(self) -> bool:
        return self.topic_arn.endswith(".fifo")
