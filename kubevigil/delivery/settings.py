"""Per-sink delivery settings: queue bounds, batching overrides and the retry policy."""

from __future__ import annotations

from pydantic import Field

from kubevigil.core.model import Model


class DeliveryParams(Model):
    """How kubevigil queues and retries for one sink (`sinks.<name>.delivery`)."""

    max_queue_items: int = Field(1_000_000, gt=0, description="Items the on-disk journal may hold before intake waits")
    max_queue_bytes: int = Field(1 << 30, gt=0, description="Bytes the journal may hold before intake waits")
    memory_items: int = Field(10_000, gt=0, description="Items kept in memory ahead of the sender; the rest stay on disk")
    batch_max_items: int | None = Field(None, gt=0, description="Lower the sink's own batch item limit")
    batch_max_age: float | None = Field(None, gt=0, description="Seconds a partial batch waits for more items")
    timeout: float = Field(30.0, gt=0, description="Seconds one send may take before it counts as a retryable failure")
    retry_base: float = Field(0.5, gt=0, description="First retry delay in seconds (full jitter applies)")
    retry_cap: float = Field(60.0, gt=0, description="Longest delay between retries in seconds")
    retry_max_age: float = Field(86_400.0, gt=0, description="An item still failing after this many seconds is dead-lettered")
    access_retry_base: float = Field(
        30.0, gt=0, description="First retry delay in seconds while the sink refuses the credentials or the "
        "destination (401, 403, 404; full jitter applies)")
    access_retry_cap: float = Field(
        600.0, gt=0, description="Longest delay in seconds between retries while the sink refuses access")
    journal: bool = Field(True, description="Keep accepted items in the sqlite journal so they survive restarts")
