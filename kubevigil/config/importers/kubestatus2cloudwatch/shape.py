"""What a kubestatus2cloudwatch file looks like: its top-level keys, all `detect` needs."""

from __future__ import annotations

from typing import Any

TOP_KEYS = ("dryRun", "seconds", "logging", "metric", "targets")


def detect(doc: dict[str, Any]) -> bool:
    """Any top-level key only kubestatus2cloudwatch's files have (`logging` is the native format's too)."""
    return isinstance(doc, dict) and any(key in ("dryRun", "seconds", "metric", "targets") for key in doc)
