"""Parameters of the `webhook` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.templating import TemplateText, TemplateValue
from kubevigil.sinks.http_post import HttpParams


class Params(HttpParams):
    """POST each record as JSON to `endpoint` (one request per record, in order)."""

    endpoint: str = Field(pattern=r"^https?://", description="URL to POST to")
    headers: dict[str, TemplateText] = Field(default_factory=dict, description="Request headers; values are templates")
    layout: TemplateValue | None = Field(None, description="Request body (Jinja layout); default: the record body")
