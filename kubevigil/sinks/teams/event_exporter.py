"""kubernetes-event-exporter's `teams` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys
from kubevigil.sinks.webhook.event_exporter import translate_tls


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("teams", cfg, {"endpoint": "endpoint", "layout": "layout", "tls": "tls"},
                                {"headers": "Teams webhooks take no custom headers; ignored"})
    if "tls" in params:
        params["tls"], tls_notes = translate_tls("teams", params["tls"])
        notes += tls_notes
    return params, notes
