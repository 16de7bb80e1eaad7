"""A role stops when it is cancelled (lost lease, SIGTERM): its bounded waits use `asyncio.timeout`, because in
Python 3.11 `asyncio.wait_for` drops a cancellation that arrives as its awaitable finishes, and the role then runs
on while the runtime waits for it forever (seen as a hang of tests/scrape/test_paths.py under load)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Where cancellation is how things stop: every role, and the runtime that cancels them.
CANCELLED_BY_THE_RUNTIME = [*sorted((ROOT / "kubevigil" / "roles").rglob("*.py")), ROOT / "kubevigil" / "runtime.py",
                            ROOT / "kubevigil" / "kube" / "factory.py", ROOT / "kubevigil" / "kube" / "leader.py"]


async def stops_when_cancelled(bounded: Callable[[Awaitable[None]], Awaitable[None]]) -> bool:
    """A role-like task hands something over (which finishes at once), then waits for its next interval; the
    cancellation arrives just as the hand-over finished."""
    handed_over = asyncio.Event()

    async def put() -> None:
        handed_over.set()

    async def role() -> None:
        await bounded(put())
        await asyncio.sleep(3600)

    task = asyncio.create_task(role())
    await handed_over.wait()
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=5)
    if not done:
        task.cancel()
        await asyncio.wait({task})
    return bool(done)


async def with_timeout(awaitable: Awaitable[None]) -> None:
    async with asyncio.timeout(5):
        await awaitable


async def with_wait_for(awaitable: Awaitable[None]) -> None:
    await asyncio.wait_for(awaitable, 5)


async def test_asyncio_timeout_keeps_the_cancellation() -> None:
    assert await stops_when_cancelled(with_timeout)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="3.12 rewrote wait_for on asyncio.timeout")
async def test_wait_for_drops_it_on_this_python() -> None:
    assert not await stops_when_cancelled(with_wait_for)


def test_roles_and_the_runtime_do_not_use_wait_for() -> None:
    found = [f"{path.relative_to(ROOT)}:{n}" for path in CANCELLED_BY_THE_RUNTIME
             for n, line in enumerate(path.read_text().splitlines(), 1) if re.search(r"\bwait_for\(", line)
             and not line.lstrip().startswith("#")]
    assert not found, f"use `async with asyncio.timeout(...)` instead of asyncio.wait_for: {found}"
