"""kubernetes-event-exporter's `opsgenie` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import keep_empty_secret, rename_keys

KEYS = {"apiKey": "api_key", "message": "message", "alias": "alias", "description": "description",
        "priority": "priority", "tags": "tags", "details": "details", "entity": "entity"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("opsgenie", cfg, KEYS, {})
    notes += keep_empty_secret("opsgenie", params, "api_key", "apiKey")
    return params, notes
