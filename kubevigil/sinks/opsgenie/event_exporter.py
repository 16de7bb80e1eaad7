"""kubernetes-event-exporter's `opsgenie` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys

KEYS = {"apiKey": "api_key", "message": "message", "alias": "alias", "description": "description",
        "priority": "priority", "tags": "tags", "details": "details", "entity": "entity"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("opsgenie", cfg, KEYS, {})
    if not params.get("api_key"):
        params["api_key"] = ""
        notes.append("opsgenie receiver: apiKey is empty: Opsgenie would reject every alert, so kubevigil sends "
                     "none and puts each one in the dead-letter file; set an API key")
    return params, notes
