"""kubernetes-event-exporter's `slack` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys

KEYS = {"token": "token", "channel": "channel", "message": "message", "title": "title", "color": "color",
        "footer": "footer", "author_name": "author_name", "fields": "fields"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("slack", cfg, KEYS, {})
    if not params.get("token"):
        params["token"] = ""
        notes.append("slack receiver: token is empty: Slack would reject every message, so kubevigil sends none "
                     "and puts each one in the dead-letter file; set a bot token")
    return params, notes
