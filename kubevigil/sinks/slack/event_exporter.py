"""kubernetes-event-exporter's `slack` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import keep_empty_secret, rename_keys

KEYS = {"token": "token", "channel": "channel", "message": "message", "title": "title", "color": "color",
        "footer": "footer", "author_name": "author_name", "fields": "fields"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("slack", cfg, KEYS, {})
    notes += keep_empty_secret("slack", params, "token", "token")
    return params, notes
