"""kubernetes-event-exporter's `sqs` receiver keys as `sqs` sink params (layouts arrive already in Jinja)."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import SENT_UPDATE_EVENT, rename_keys

KEYS = {"queueName": "queue_name", "region": "region", "layout": "layout"}
DROPPED = {"sentUpdateEvent": SENT_UPDATE_EVENT}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("sqs", cfg, KEYS, DROPPED)
