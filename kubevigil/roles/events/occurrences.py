"""What counts as an occurrence of an Event, its stable record id, its time, and the core/v1 shape of both APIs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

Repeats = Literal["all", "first", "none"]


@dataclass(frozen=True, slots=True)
class Occurrence:
    uid: str
    count: int
    timestamp: float  # seconds since the epoch: when this occurrence happened
    event: dict[str, Any]  # core/v1 shape

    @property
    def record_id(self) -> str:
        return f"{self.uid}-{self.count}"


def parse_time(text: Any) -> float | None:
    if not text or not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def occurrence_count(event: dict[str, Any]) -> int:
    """The number of times this Event happened so far: the larger of count and series.count, at least 1."""
    series = event.get("series") or {}
    return max(int(event.get("count") or 0), int(series.get("count") or 0), 1)


def occurrence_time(event: dict[str, Any], fallback: float) -> float:
    """Latest observation: series.lastObservedTime, lastTimestamp, eventTime, firstTimestamp, creation."""
    series = event.get("series") or {}
    for text in (series.get("lastObservedTime"), event.get("lastTimestamp"), event.get("eventTime"),
                 event.get("firstTimestamp"), (event.get("metadata") or {}).get("creationTimestamp")):
        ts = parse_time(text)
        if ts is not None:
            return ts
    return fallback


def from_events_v1(event: dict[str, Any]) -> dict[str, Any]:
    """An events.k8s.io/v1 Event in the core/v1 shape event-exporter's receivers see."""
    source = event.get("deprecatedSource") or {}
    out: dict[str, Any] = {
        "kind": "Event",
        "apiVersion": "v1",
        "metadata": event.get("metadata") or {},
        "involvedObject": event.get("regarding") or {},
        "reason": event.get("reason", ""),
        "message": event.get("note", ""),
        "source": {k: v for k, v in source.items() if v},
        "firstTimestamp": event.get("deprecatedFirstTimestamp"),
        "lastTimestamp": event.get("deprecatedLastTimestamp"),
        "count": event.get("deprecatedCount") or 0,
        "type": event.get("type", ""),
        "eventTime": event.get("eventTime"),
        "reportingComponent": event.get("reportingController", ""),
        "reportingInstance": event.get("reportingInstance", ""),
    }
    for key in ("series", "action", "related"):
        if event.get(key):
            out[key] = event[key]
    return out


def is_wanted(count: int, last: int | None, repeats: Repeats) -> bool:
    """Whether an occurrence is exported under `repeats`, given the highest count already handled (None: new)."""
    if last is not None and count <= last:
        return False
    if last is None:
        return True
    if repeats == "all":
        return True
    if repeats == "first":
        return last < 2  # the first repeat says "this keeps happening"; later ones are left out
    return False
