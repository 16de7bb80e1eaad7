"""Parameters of the `loki` sink."""

from __future__ import annotations

from pydantic import Field, SecretStr

from kubevigil.core.model import Model
from kubevigil.core.templating import TemplateText, TemplateValue
from kubevigil.sinks.http_post import HttpParams

DEFAULT_LABELS = {"job": "kubevigil", "namespace": "{{ involvedObject.namespace }}", "type": "{{ type }}"}


class BasicAuth(Model):
    username: str
    password: SecretStr


class Params(HttpParams):
    """Push records as log lines to Grafana Loki (`/loki/api/v1/push`), grouped into streams by templated labels."""

    url: str = Field(pattern=r"^https?://", description="Loki base URL (http://loki:3100) or the full push URL")
    stream_labels: dict[str, TemplateText] = Field(
        default_factory=lambda: dict(DEFAULT_LABELS),
        description="Stream labels; keep them few and bounded (no pod names or messages)",
    )
    layout: TemplateValue | None = Field(None, description="Log line document (JSON); default: the record body")
    headers: dict[str, str] = Field(default_factory=dict)
    tenant_id: str | None = Field(None, description="X-Scope-OrgID for multi-tenant Loki")
    basic_auth: BasicAuth | None = None
