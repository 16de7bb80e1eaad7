"""The keyed work queue, driven by a ManualClock: dedupe, one worker per key, re-run, delays, backoff, metrics."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import random
from collections.abc import AsyncIterator, Callable

import pytest
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import ManualClock
from kubevigil.kube.workqueue import WorkQueue


async def settle(turns: int = 20) -> None:
    for _ in range(turns):
        await asyncio.sleep(0)


@contextlib.asynccontextmanager
async def running(queue: WorkQueue[str]) -> AsyncIterator[WorkQueue[str]]:
    task = asyncio.create_task(queue.run())
    try:
        yield queue
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def recorder() -> tuple[list[str], Callable[[str], object]]:
    seen: list[str] = []

    async def handle(key: str) -> None:
        seen.append(key)

    return seen, handle


async def test_adds_of_a_queued_key_are_handled_once() -> None:
    seen, handle = recorder()
    queue = WorkQueue(handle, name="t", clock=ManualClock())
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    assert queue.depth == 2
    async with running(queue):
        await settle()
    assert sorted(seen) == ["a", "b"]
    assert queue.adds == 6


async def test_one_worker_per_key_and_a_rerun_after_an_add_in_flight() -> None:
    gate = asyncio.Event()
    active: dict[str, int] = {}
    most = {"a": 0}
    runs: list[str] = []

    async def handle(key: str) -> None:
        active[key] = active.get(key, 0) + 1
        most[key] = max(most.get(key, 0), active[key])
        runs.append(key)
        await gate.wait()
        active[key] -= 1

    queue = WorkQueue(handle, name="t", workers=4, clock=ManualClock())
    async with running(queue):
        queue.add("a")
        await settle()
        assert queue.is_processing("a")
        queue.add("a")  # while in flight: must not start a second handler now
        queue.add("a")
        await settle()
        assert runs == ["a"] and queue.depth == 0
        gate.set()
        await settle()
        assert runs == ["a", "a"]  # exactly one re-run, after the first finished
    assert most["a"] == 1


async def test_add_after_waits_for_the_clock_and_the_earliest_time_wins() -> None:
    clock = ManualClock()
    seen, handle = recorder()
    queue = WorkQueue(handle, name="t", clock=clock)
    async with running(queue):
        queue.add_after("a", 10)
        queue.add_after("a", 30)  # later: ignored, 10 stays
        queue.add_after("b", 5)
        await settle()
        assert seen == []
        await clock.advance(5)
        await settle()
        assert seen == ["b"]
        queue.add_after("a", 1)  # earlier than 10: now due at 6
        await clock.advance(1)
        await settle()
        assert seen == ["b", "a"]
        await clock.advance(20)
        await settle()
        assert seen == ["b", "a"]  # the superseded time at 10 does not run it again
        assert queue.pending_delayed() == 0


async def test_failures_back_off_exponentially_with_jitter_and_success_forgets() -> None:
    clock = ManualClock()
    calls: list[float] = []
    fail_times = 4

    async def handle(key: str) -> None:
        calls.append(clock.monotonic())
        if len(calls) <= fail_times:
            raise RuntimeError("boom")

    queue = WorkQueue(handle, name="t", clock=clock, backoff_base=1.0, backoff_cap=5.0, rng=random.Random(7))
    async with running(queue):
        queue.add("k")
        await settle()
        assert queue.num_requeues("k") == 1
        for _ in range(60):
            await clock.advance(0.5)
            await settle()
        assert len(calls) == fail_times + 1
        assert queue.num_requeues("k") == 0  # forgotten on success
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    ceilings = [1.0, 2.0, 4.0, 5.0]  # base * 2^n, capped at 5
    for gap, ceiling in zip(gaps, ceilings, strict=True):
        assert gap <= ceiling + 0.5  # + one advance step of granularity
    assert queue.retries == fail_times


async def test_backoff_is_jittered_per_key() -> None:
    clock = ManualClock()

    async def fail(key: str) -> None:
        raise RuntimeError("x")

    queue = WorkQueue(fail, name="t", clock=clock, backoff_base=10.0, backoff_cap=10.0, rng=random.Random(1))
    for i in range(50):
        queue.add_rate_limited(f"k{i}")
    dues = sorted(queue._waiting.values())
    assert dues[0] < dues[-1] - 1.0  # spread over [0, 10], not one stampede
    assert all(0 < d <= 10.0 for d in dues)


async def test_discard_drops_a_pending_delay() -> None:
    clock = ManualClock()
    seen, handle = recorder()
    queue = WorkQueue(handle, name="t", clock=clock)
    async with running(queue):
        queue.add_after("gone", 3)
        queue.discard("gone")
        await clock.advance(5)
        await settle()
    assert seen == []


async def test_metrics_are_exposed_per_queue() -> None:
    registry = CollectorRegistry()
    gate = asyncio.Event()

    async def handle(key: str) -> None:
        await gate.wait()

    clock = ManualClock()
    queue = WorkQueue(handle, name="checks", workers=1, clock=clock, registry=registry)
    async with running(queue):
        queue.add("a")
        queue.add("b")
        await settle()
        assert registry.get_sample_value("kubevigil_workqueue_depth", {"name": "checks"}) == 1
        assert registry.get_sample_value("kubevigil_workqueue_adds_total", {"name": "checks"}) == 2
        assert registry.get_sample_value("kubevigil_workqueue_longest_running_processor_seconds",
                                         {"name": "checks"}) >= 0
        gate.set()
        await settle()
    assert registry.get_sample_value("kubevigil_workqueue_work_duration_seconds_count", {"name": "checks"}) == 2
    assert registry.get_sample_value("kubevigil_workqueue_retries_total", {"name": "checks"}) == 0


def test_workers_must_be_positive() -> None:
    async def handle(key: str) -> None:
        return None

    with pytest.raises(ValueError, match="workers must be at least 1"):
        WorkQueue(handle, name="t", workers=0)
