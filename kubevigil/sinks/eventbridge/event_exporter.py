"""kubernetes-event-exporter's `eventbridge` receiver keys as `eventbridge` sink params (layouts already Jinja)."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import SENT_UPDATE_EVENT, rename_keys

KEYS = {
    "detailType": "detail_type",
    "source": "source",
    "eventBusName": "event_bus_name",
    "region": "region",
    "details": "layout",
}
DROPPED = {"sentUpdateEvent": SENT_UPDATE_EVENT}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("eventbridge", cfg, KEYS, DROPPED)
