"""Parameters of the `webhook` sink."""

from __future__ import annotations

from pydantic import Field, model_validator

from kubevigil.core.secrets import WebhookUrl
from kubevigil.core.templating import SecretTemplateText, TemplateValue
from kubevigil.sinks.http_post import HttpParams, check_one_authorization


class Params(HttpParams):
    """POST each record as JSON to `endpoint` (one request per record, in order)."""

    endpoint: WebhookUrl = Field(
        pattern=r"^https?://", description="URL to POST to; its path and query are shown as *** (they often hold a token)"
    )
    headers: dict[str, SecretTemplateText] = Field(
        default_factory=dict, description="Request headers; values are templates, secret (never shown)"
    )
    layout: TemplateValue | None = Field(None, description="Request body (Jinja layout); default: the record body")

    @model_validator(mode="after")
    def _one_authorization(self) -> Params:
        check_one_authorization(self.endpoint, self.headers)
        return self
