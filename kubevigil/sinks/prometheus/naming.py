"""Turning kubevigil metric names, units and dimensions into valid Prometheus names."""

from __future__ import annotations

import re

_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_INVALID_METRIC = re.compile(r"[^a-zA-Z0-9_:]+")
_INVALID_LABEL = re.compile(r"[^a-zA-Z0-9_]+")
# CloudWatch units that have a Prometheus base-unit suffix; other units leave the name alone.
_UNIT_SUFFIX = {"Seconds": "seconds", "Bytes": "bytes"}


def metric_name(prefix: str, name: str, unit: str) -> str:
    """`ClusterHealthy` -> `kubevigil_cluster_healthy`; a Seconds unit adds `_seconds` unless present."""
    snake = _INVALID_METRIC.sub("_", _CAMEL.sub("_", name)).strip("_").lower()
    suffix = _UNIT_SUFFIX.get(unit)
    if suffix and not snake.endswith(suffix):
        snake = f"{snake}_{suffix}"
    full = f"{prefix}{snake}" if snake else f"{prefix}unnamed"
    return f"_{full}" if full[0].isdigit() else full


def label_name(key: str) -> str:
    """A dimension key as a label name: invalid characters become `_`, no leading digit or `__`."""
    label = _INVALID_LABEL.sub("_", key)
    label = label.lstrip("_") or "label"
    return f"_{label}" if label[0].isdigit() else label
