"""event-exporter's local receivers (file, stdout, syslog) as sink params."""

from __future__ import annotations

from typing import Any

from kubevigil.config.importers.event_exporter.receivers import rename_keys

FILE_KEYS = {"path": "path", "layout": "layout", "deDot": "de_dot", "maxsize": "max_bytes", "maxbackups": "backups"}
STDOUT_KEYS = {"layout": "layout", "deDot": "de_dot"}
SYSLOG_KEYS = {"network": "network", "address": "address", "tag": "tag"}
# event-exporter writes the event itself, one JSON document per line; kubevigil's own default wraps each record
EVENT_ITSELF = "{{ body }}"
FILE_DROPPED = {"maxage": "ignored: kubevigil keeps `backups` rotated files by count, not by age"}


def file(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The `file` receiver (lumberjack rotation)."""
    params, notes = rename_keys("file", cfg, FILE_KEYS, FILE_DROPPED)
    params.setdefault("layout", EVENT_ITSELF)
    if "max_bytes" in params:
        params["max_bytes"] = int(params["max_bytes"]) * 1024 * 1024  # lumberjack's MaxSize is in megabytes
    return params, notes


def stdout(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("stdout", cfg, STDOUT_KEYS, {})
    params.setdefault("layout", EVENT_ITSELF)
    return params, notes


def syslog(cfg: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    params, notes = rename_keys("syslog", cfg, SYSLOG_KEYS, {})
    notes.append("syslog receiver: kubevigil writes RFC 5424 messages (TCP with octet-counting framing); "
                 "rsyslog and syslog-ng accept them as they are")
    return params, notes
