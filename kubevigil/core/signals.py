"""The two value types every role produces and every sink consumes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

MetricKind = Literal["gauge", "counter"]
SignalKind = Literal["metric", "record"]  # what a sink consumes
# CloudWatch's StandardUnit names, the unit vocabulary every sink maps from; a typo here would otherwise
# surface only as a rejected PutMetricData.
Unit = Literal[
    "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes", "Bits",
    "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second", "Kilobytes/Second",
    "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second", "Kilobits/Second", "Megabits/Second",
    "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
]


@dataclass(frozen=True, slots=True)
class Metric:
    """One sample: CloudWatch datum, Prometheus gauge or counter, EMF entry."""

    name: str
    value: float
    timestamp: float  # seconds since the epoch, UTC
    unit: str = "None"  # CloudWatch unit names ("Count", "Seconds", "None", ...)
    kind: MetricKind = "gauge"
    dimensions: tuple[tuple[str, str], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "timestamp": self.timestamp,
            "unit": self.unit,
            "kind": self.kind,
            "dimensions": dict(self.dimensions),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Metric:
        return cls(
            name=d["name"],
            value=d["value"],
            timestamp=d["timestamp"],
            unit=d.get("unit", "None"),
            kind=d.get("kind", "gauge"),
            dimensions=tuple(sorted(d.get("dimensions", {}).items())),
        )


@dataclass(frozen=True, slots=True)
class Record:
    """A JSON document with a stable id, so idempotent sinks never hold a duplicate."""

    id: str
    timestamp: float  # seconds since the epoch, UTC: the time of what the record describes
    body: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "timestamp": self.timestamp, "body": self.body}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Record:
        return cls(id=d["id"], timestamp=d["timestamp"], body=d["body"])


Signal = Metric | Record
