"""kubernetes-event-exporter's `loki` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys
from kubevigil.sinks.webhook.event_exporter import translate_tls

KEYS = {"url": "url", "streamLabels": "stream_labels", "headers": "headers", "layout": "layout", "tls": "tls"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("loki", cfg, KEYS, {})
    if "tls" in params:
        params["tls"], tls_notes = translate_tls("loki", params["tls"])
        notes += tls_notes
    return params, notes
