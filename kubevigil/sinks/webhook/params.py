"""Parameters of the `webhook` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.sinks.http_post import HttpParams
from kubevigil.templating import TemplateText, TemplateValue


class Params(HttpParams):
    """POST each record as JSON to `endpoint` (one request per record, in order)."""

    endpoint: str = Field(pattern=r"^https?://", description="URL to POST to")
    headers: dict[str, TemplateText] = Field(default_factory=dict, description="Request headers; values are templates")
    layout: TemplateValue | None = Field(None, description="Request body (Jinja layout); default: the record body")
