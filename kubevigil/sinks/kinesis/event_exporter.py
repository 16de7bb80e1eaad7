"""kubernetes-event-exporter's `kinesis` receiver keys as `kinesis` sink params (layouts arrive already in Jinja)."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import SENT_UPDATE_EVENT, rename_keys

KEYS = {"streamName": "stream_name", "region": "region", "layout": "layout"}
DROPPED = {"sentUpdateEvent": SENT_UPDATE_EVENT}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The original keyed every record by the event uid; kubevigil keys by the record id (uid + occurrence)."""
    return rename_keys("kinesis", cfg, KEYS, DROPPED)
