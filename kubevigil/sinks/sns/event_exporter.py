"""kubernetes-event-exporter's `sns` receiver keys as `sns` sink params (layouts arrive already in Jinja)."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys

KEYS = {"topicARN": "topic_arn", "region": "region", "layout": "layout", "MessageGroupId": "message_group_id"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("sns", cfg, KEYS, {})
