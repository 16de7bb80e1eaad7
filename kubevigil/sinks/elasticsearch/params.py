"""Parameters of the `elasticsearch` sink: the search params, plus an Elastic Cloud id and extra headers."""

from __future__ import annotations

import binascii

from pydantic import Field, SecretStr, field_validator, model_validator

from kubevigil.sinks.bulk_index import SearchParams


class Params(SearchParams):
    hosts: list[str] = Field(default_factory=list, description="Cluster URLs, e.g. https://search.example:443; or cloud_id")
    cloud_id: str | None = Field(None, description="Elastic Cloud id (`name:base64`), instead of hosts")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="Headers sent on every request")

    @field_validator("cloud_id")
    @classmethod
    def _decodable(cls, value: str | None) -> str | None:
        if value is not None:
            cloud_url(value)
        return value

    @model_validator(mode="after")
    def _one_address(self) -> Params:
        if self.cloud_id and self.hosts:
            raise ValueError("give hosts or cloud_id, not both (the Elasticsearch clients refuse both too)")
        if not self.cloud_id and not self.hosts:
            raise ValueError("hosts: give at least one cluster URL, or cloud_id")
        return self

    def addresses(self) -> list[str]:
        """The cluster URLs to use: `hosts`, or the one `cloud_id` names."""
        return list(self.hosts) if self.hosts else [cloud_url(self.cloud_id or "")]


def cloud_url(cloud_id: str) -> str:
    """Elasticsearch's URL from an Elastic Cloud id, decoded as the Elasticsearch clients decode it.

    `name:base64("host[:port]$es_uuid$kibana_uuid")` -> `https://es_uuid.host:port` (port 443 by default)."""
    _, _, encoded = cloud_id.partition(":")
    try:
        parts = binascii.a2b_base64(encoded.encode("ascii")).decode("ascii").split("$")
    except (ValueError, UnicodeError):
        parts = []
    host, es_uuid = (parts[0], parts[1]) if len(parts) > 1 else ("", "")
    port = "443"
    if ":" in host:
        host, _, port = host.rpartition(":")
    if not host or not es_uuid or not port.isdigit():
        raise ValueError("cloud_id: not an Elastic Cloud id (expected name:base64 of host$es-uuid$kibana-uuid)")
    return f"https://{es_uuid}.{host}:{int(port)}"


