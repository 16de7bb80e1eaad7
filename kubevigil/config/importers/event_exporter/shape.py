"""What an event-exporter file looks like: its top-level keys, all `detect` needs (no translation machinery)."""

from __future__ import annotations

from typing import Any

TOP_KEYS = ("logLevel", "logFormat", "throttlePeriod", "maxEventAgeSeconds", "clusterName", "namespace",
            "leaderElection", "route", "receivers", "kubeQPS", "kubeBurst", "kubeconfig", "metricsNamePrefix",
            "omitLookup", "cacheSize")


def detect(doc: dict[str, Any]) -> bool:
    """Any top-level key that only event-exporter's files have (a partial file with only `kubeQPS` counts)."""
    return isinstance(doc, dict) and any(key in TOP_KEYS for key in doc)
