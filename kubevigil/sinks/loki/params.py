"""Parameters of the `loki` sink."""

from __future__ import annotations

from pydantic import Field, SecretStr, model_validator

from kubevigil.core.model import Model
from kubevigil.core.secrets import WebhookUrl
from kubevigil.core.templating import TemplateText, TemplateValue
from kubevigil.sinks.http_post import HttpParams, check_one_authorization

DEFAULT_LABELS = {"job": "kubevigil", "namespace": "{{ involvedObject.namespace }}", "type": "{{ type }}"}


class BasicAuth(Model):
    username: str
    password: SecretStr


class Params(HttpParams):
    """Push records as log lines to Grafana Loki (`/loki/api/v1/push`), grouped into streams by templated labels."""

    url: WebhookUrl = Field(
        pattern=r"^https?://", description="Loki base URL (http://loki:3100) or the full push URL; path shown as ***"
    )
    stream_labels: dict[str, TemplateText] = Field(
        default_factory=lambda: dict(DEFAULT_LABELS),
        description="Stream labels; keep them few and bounded (no pod names or messages)",
    )
    layout: TemplateValue | None = Field(None, description="Log line document (JSON); default: the record body")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Request headers; values are secret")
    tenant_id: str | None = Field(None, description="X-Scope-OrgID for multi-tenant Loki")
    basic_auth: BasicAuth | None = None

    @model_validator(mode="after")
    def _one_authorization(self) -> Params:
        check_one_authorization(self.url, self.headers, self.basic_auth is not None)
        return self
