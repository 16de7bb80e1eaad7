"""The sink interface: what delivery calls, and how a sink reports failure."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Generic, TypeVar

from prometheus_client import CollectorRegistry

from kubevigil.core.secrets import scrub
from kubevigil.core.signals import Metric, Record, SignalKind

__all__ = [
    "AccessError", "Ack", "BatchLimits", "ItemFailure", "PermanentError", "RetryableError", "SignalKind", "Sink", "SinkContext", "SinkError",
    "error_for_status", "no_ack",
]
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


class AccessError(RetryableError):
    """The sink refused kubevigil's credentials (401, 403) or does not know the destination (404): an operator fixes
    it, so delivery keeps the items and retries with a long backoff while it reports the sink on /readyz."""


def error_for_status(status: int | None, message: str) -> SinkError:
    """The one classification of an HTTP status for every sink (docs/delivery.md, "Failures"): 401, 403 and 404 are
    access errors; 408, 429 and 5xx (and no status: the connection failed) are retried; other 4xx are permanent."""
    if status in (401, 403, 404):
        return AccessError(message)
    if status is None or status in (408, 429) or status >= 500:
        return RetryableError(message)
    return PermanentError(message)


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


Ack = Callable[[Sequence[int]], Awaitable[None]]
"""What a sink awaits after each request that went through, with the batch positions it carried: delivery removes
them from the journal before it returns, so a crash after it never sends them again."""


async def no_ack(indexes: Sequence[int]) -> None:
    """The `ack` of a send that no journal follows (direct calls, tests)."""


class Sink(ABC, Generic[T]):
    """One output. `send` delivers a batch or raises SinkError; per-item failures are returned.

    A sink that needs several requests for one batch (one per record, or one per API call) awaits `ack` after each
    that succeeded, so a crash resends at most the request in flight; the rest of the batch is acknowledged when
    `send` returns."""

    kinds: ClassVar[frozenset[SignalKind]]
    limits: BatchLimits = BatchLimits()

    @abstractmethod
    async def send(self, batch: Sequence[T], ack: Ack = no_ack) -> list[ItemFailure]:
        """Deliver `batch`; return the items that failed alone (empty when all arrived)."""

    async def start(self) -> None:
        """Open connections; called once before the first send."""

    async def close(self) -> None:
        """Release connections; called once after the last send."""
