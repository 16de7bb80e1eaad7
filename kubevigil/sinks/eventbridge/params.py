"""Config of the `eventbridge` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.templating import TemplateValue
from kubevigil.sinks.aws import AwsParams


class Params(AwsParams):
    """Put each record on an event bus as one event whose `detail` is the layout (or the record body)."""

    event_bus_name: str = Field("default", min_length=1, max_length=1600, description="Event bus name or ARN")
    source: str = Field(..., min_length=1, max_length=256, description="The events' `source` (rules match on it)")
    detail_type: str = Field(..., min_length=1, max_length=128, description="The events' `detail-type`")
    layout: TemplateValue | None = Field(
        None, description="The `detail` document (Jinja layout, must be a JSON object); default: the record body"
    )
