"""kubernetes-event-exporter's `stdout` receiver as this sink's params."""

from __future__ import annotations

from typing import Any

from kubevigil.sinks.receiver_keys import rename_keys


def translate(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    return rename_keys("stdout", cfg, {"layout": "layout", "deDot": "de_dot"}, {})
