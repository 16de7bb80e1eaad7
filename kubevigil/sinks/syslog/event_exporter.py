"""kubernetes-event-exporter's `syslog` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("syslog", cfg, {"network": "network", "address": "address", "tag": "tag"}, {})
    notes.append("syslog receiver: kubevigil writes RFC 5424 messages (TCP with octet-counting framing); "
                 "rsyslog and syslog-ng accept them as they are")
    return params, notes
