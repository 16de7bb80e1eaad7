"""What a sink's queue holds: items accepted and not yet delivered or dead-lettered, against the queue's bounds."""

from __future__ import annotations

import asyncio


class Backlog:
    """Counts items and encoded bytes from acceptance to delivery; intake waits on it for room, shutdown for empty."""

    def __init__(self, max_items: int, max_bytes: int) -> None:
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.items = 0
        self.size = 0
        self.drained = asyncio.Event()
        self._room = asyncio.Event()
        self._closed = False

    @property
    def full(self) -> bool:
        return self.items >= self.max_items or self.size >= self.max_bytes

    def has_room(self, count: int, size: int) -> bool:
        if self.items == 0:
            return True  # one put larger than the limits is admitted alone rather than never
        return self.items + count <= self.max_items and self.size + size <= self.max_bytes

    async def wait_for_room(self, count: int, size: int) -> None:
        """Return once `count` items of `size` bytes fit, or as soon as the queue closes (the caller checks)."""
        while not self._closed and not self.has_room(count, size):
            self._room.clear()
            await self._room.wait()

    def add(self, count: int, size: int) -> None:
        self.items += count
        self.size += size
        if self.items:
            self.drained.clear()

    def remove(self, count: int, size: int) -> None:
        self.items -= count
        self.size -= size
        self._room.set()
        if self.items == 0:
            self.drained.set()

    def close(self) -> None:
        """Wake every put waiting for room: intake has stopped, so they fail instead of waiting forever."""
        self._closed = True
        self._room.set()
