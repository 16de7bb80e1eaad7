"""kubernetes-event-exporter's `firehose` receiver keys as `firehose` sink params (layouts arrive already in Jinja)."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys

KEYS = {"deliveryStreamName": "delivery_stream_name", "region": "region", "layout": "layout", "deDot": "de_dot"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("firehose", cfg, KEYS, {})
