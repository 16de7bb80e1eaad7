"""What a role sees of delivery: a named place to hand values to."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from kubevigil.core.signals import Signal, SignalKind


class Outlet(Protocol):
    name: str
    kinds: frozenset[SignalKind]

    async def put(self, items: Sequence[Signal]) -> None:
        """Accept items; returns once they are durable (journaled), waits while the queue is full."""
