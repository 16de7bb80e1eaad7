"""Parameters of the `slack` sink."""

from __future__ import annotations

from pydantic import Field, SecretStr

from kubevigil.core.secrets import WebhookUrl
from kubevigil.core.templating import TemplateText
from kubevigil.sinks.http_post import HttpParams

DEFAULT_MESSAGE = "{{ type }} {{ reason }}: {{ involvedObject.kind }} {{ involvedObject.namespace }}/{{ involvedObject.name }}: {{ message }}"


class Params(HttpParams):
    """Post each record as a message with Slack's chat.postMessage (a bot token with chat:write)."""

    token: SecretStr = Field(description="Bot token (xoxb-...)")
    channel: str = Field(min_length=1, description="Channel name (#ops) or id")
    message: TemplateText = Field(DEFAULT_MESSAGE, description="Message text template")
    title: TemplateText | None = None
    color: TemplateText | None = Field(None, description="Attachment colour, e.g. danger, warning, #36a64f")
    footer: TemplateText | None = None
    author_name: TemplateText | None = None
    fields: dict[str, TemplateText] = Field(default_factory=dict, description="Attachment fields: title -> value template")
    api_url: WebhookUrl = Field("https://slack.com/api", pattern=r"^https?://", description="Slack Web API base URL")
