"""Parameters of the `teams` sink."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.secrets import WebhookUrl
from kubevigil.core.templating import TemplateText, TemplateValue
from kubevigil.sinks.http_post import HttpParams

DEFAULT_TITLE = "{{ type }} {{ reason }}: {{ involvedObject.kind }} {{ involvedObject.namespace }}/{{ involvedObject.name }}"


class Params(HttpParams):
    """POST each record to a Microsoft Teams incoming webhook (or Workflows webhook) as a MessageCard."""

    endpoint: WebhookUrl = Field(
        pattern=r"^https?://", description="The channel's incoming webhook URL (its path is the secret: shown as ***)"
    )
    title: TemplateText = Field(DEFAULT_TITLE, description="Card title template")
    text: TemplateText = Field("{{ message }}", description="Card text template")
    layout: TemplateValue | None = Field(None, description="Send this body instead of the MessageCard")
