"""Waiting on conditions instead of sleeping."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable


def wait_for(condition: Callable[[], object], timeout: float = 30.0, interval: float = 0.1) -> object:
    """Poll until `condition()` is truthy; fail the test with the last error when the deadline passes."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if result:
                return result
        except Exception as exc:
            last = exc
        time.sleep(interval)
    raise AssertionError(f"condition not met within {timeout}s (last error: {last!r})")


async def eventually(condition: Callable[[], Awaitable[object] | object], timeout: float = 30.0,
                     interval: float = 0.05, what: str = "condition",
                     state: Callable[[], object] | None = None) -> object:
    """`wait_for` on the running event loop: the condition may be a coroutine function; the loop keeps running.

    On timeout the failure names `what`, the last result (or error) and, when given, `state()` for context."""
    deadline = time.monotonic() + timeout
    last: object = None
    while time.monotonic() < deadline:
        try:
            result = condition()
            if inspect.isawaitable(result):
                result = await result
            if result:
                return result
            last = result
        except Exception as exc:
            last = exc
        await asyncio.sleep(interval)
    context = f"; {state()}" if state is not None else ""
    raise AssertionError(f"{what} not met within {timeout}s (last result: {last!r}){context}")
