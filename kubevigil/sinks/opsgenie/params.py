"""Parameters of the `opsgenie` sink."""

from __future__ import annotations

from pydantic import Field, SecretStr

from kubevigil.core.secrets import WebhookUrl
from kubevigil.core.templating import TemplateText
from kubevigil.sinks.http_post import HttpParams

DEFAULT_MESSAGE = "{{ reason }} for {{ involvedObject.namespace }}/{{ involvedObject.name }}"


class Params(HttpParams):
    """Create an Opsgenie alert per record (Alert API v2); the alias de-duplicates repeats in Opsgenie."""

    api_key: SecretStr = Field(description="API key of an Opsgenie API integration")
    message: TemplateText = Field(DEFAULT_MESSAGE, description="Alert message (Opsgenie keeps 130 characters)")
    alias: TemplateText = Field("{{ record_id }}", description="Alert alias: equal aliases are one alert")
    description: TemplateText | None = None
    priority: str = Field("P3", pattern="^P[1-5]$")
    tags: list[TemplateText] = Field(default_factory=list)
    details: dict[str, TemplateText] = Field(default_factory=dict)
    entity: TemplateText | None = None
    api_url: WebhookUrl = Field(
        "https://api.opsgenie.com", pattern=r"^https?://", description="api.eu.opsgenie.com for EU accounts"
    )
