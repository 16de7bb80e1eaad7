"""kubernetes-event-exporter's `opensearch` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.bulk_index import from_event_exporter


def translate(cfg: dict[str, Any], receiver: str = "opensearch") -> tuple[dict[str, Any], list[str]]:
    return from_event_exporter(cfg, receiver)
