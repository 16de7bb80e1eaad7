"""kubernetes-event-exporter's `file` receiver (lumberjack rotation) as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys

KEYS = {"path": "path", "layout": "layout", "deDot": "de_dot", "maxsize": "max_bytes", "maxbackups": "backups"}
DROPPED = {"maxage": "ignored: kubevigil keeps `backups` rotated files by count, not by age"}


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("file", cfg, KEYS, DROPPED)
    if "max_bytes" in params:
        params["max_bytes"] = int(params["max_bytes"]) * 1024 * 1024  # lumberjack's MaxSize is in megabytes
    return params, notes
