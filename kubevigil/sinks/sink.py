"""The sink interface: what delivery calls, and how a sink reports failure."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from prometheus_client import CollectorRegistry

from kubevigil.core.secrets import scrub
from kubevigil.core.signals import Metric, Record, SignalKind

__all__ = ["BatchLimits", "ItemFailure", "PermanentError", "RetryableError", "SignalKind", "Sink", "SinkContext", "SinkError"]
T = TypeVar("T", Metric, Record)


@dataclass(frozen=True, slots=True)
class BatchLimits:
    """What one send may carry; delivery never builds a larger batch."""

    max_items: int = 500
    max_bytes: int = 1_000_000  # measured on the JSON encoding of the items
    max_age: float = 1.0  # seconds a partial batch may wait for more items


class SinkError(Exception):
    """A whole batch failed. Delivery decides from `retryable` what to do next.

    The message is scrubbed of secrets here, at the boundary: it travels to logs, /status and dead letters, and a
    library's exception text can carry the URL (with its userinfo or webhook path) or echo a request's header."""

    retryable: ClassVar[bool] = True

    def __init__(self, message: object = "") -> None:
        super().__init__(scrub(str(message)))


class RetryableError(SinkError):
    """Timeouts, 5xx, throttling, connection refused: try again later."""

    retryable = True


class PermanentError(SinkError):
    """The sink rejected the batch for a reason a retry cannot fix (4xx validation)."""

    retryable = False


@dataclass(frozen=True, slots=True)
class ItemFailure:
    """One item of an otherwise delivered batch failed (e.g. an OpenSearch bulk item)."""

    index: int
    reason: str
    retryable: bool

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", scrub(self.reason))  # as for SinkError: it ends in a dead-letter file


@dataclass(frozen=True, slots=True)
class SinkContext:
    """What a sink may use from the process around it."""

    name: str  # the sink's name in the config
    cluster_name: str
    state_dir: Path
    registry: CollectorRegistry = field(repr=False)


class Sink(ABC, Generic[T]):
    """One output. `send` delivers a batch or raises SinkError; per-item failures are returned."""

    kinds: ClassVar[frozenset[SignalKind]]
    limits: BatchLimits = BatchLimits()

    @abstractmethod
    async def send(self, batch: Sequence[T]) -> list[ItemFailure]:
        """Deliver `batch`; return the items that failed alone (empty when all arrived)."""

    async def start(self) -> None:
        """Open connections; called once before the first send."""

    async def close(self) -> None:
        """Release connections; called once after the last send."""
