"""Delivery end to end against scripted sinks: outage, dead letters, partial failures, retries, shutdown, limits."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import time
from pathlib import Path

import orjson
import pytest
import structlog
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import ManualClock, SystemClock
from kubevigil.core.signals import Metric, Record
from kubevigil.delivery.delivery import Delivery, deadletter_path, journal_path
from kubevigil.delivery.queue import DeliveryClosed
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.sink import BatchLimits, ItemFailure
from tests.conditions import eventually
from tests.delivery.scripted import ScriptedSink, records

FAST = {"retry_base": 0.005, "retry_cap": 0.02}


def make(tmp_path: Path, sink: ScriptedSink, registry: CollectorRegistry, clock=None, **params) -> Delivery:
    return Delivery(
        {"s": (sink, DeliveryParams(**{**FAST, **params}))},
        state_dir=tmp_path,
        clock=clock or SystemClock(),
        registry=registry,
    )


def journal_rows(tmp_path: Path) -> int:
    with sqlite3.connect(journal_path(tmp_path, "s")) as conn:
        return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])


def sample(registry: CollectorRegistry, name: str) -> float:
    value = registry.get_sample_value(name, {"sink": "s"})
    assert value is not None, name
    return value


async def test_outage_queues_on_disk_then_drains_once_in_order(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=100, max_age=0.01))
    sink.down = True
    delivery = make(tmp_path, sink, registry, memory_items=200)
    await delivery.start()
    for start in range(0, 3000, 250):
        await delivery.outlets["s"].put(records(250, start))
    assert journal_rows(tmp_path) == 3000  # durable on disk while the sink is down
    assert sample(registry, "kubevigil_delivery_queue_depth") == 3000
    await eventually(lambda: sample(registry, "kubevigil_delivery_failed_total") >= 2)
    assert sink.delivered == []

    sink.down = False
    await eventually(lambda: len(sink.delivered) == 3000)
    assert [r.id for r in sink.delivered] == [f"r{i}" for i in range(3000)]
    assert max(len(b) for b in sink.batches) <= 100
    await eventually(lambda: sample(registry, "kubevigil_delivery_queue_depth") == 0)
    await delivery.shutdown(1.0)
    assert journal_rows(tmp_path) == 0
    assert sample(registry, "kubevigil_delivery_sent_total") == 3000
    assert sample(registry, "kubevigil_delivery_retried_total") >= 100
    assert sink.started and sink.closed


async def test_poison_record_is_dead_lettered_counted_and_logged_once(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=1, max_age=0.01))
    sink.reject = lambda item: isinstance(item, Record) and item.body.get("poison", False)
    delivery = make(tmp_path, sink, registry)
    await delivery.start()
    poison = [Record(id=f"bad{i}", timestamp=1.0, body={"poison": True}) for i in range(2)]
    with structlog.testing.capture_logs() as logs:
        await delivery.outlets["s"].put([*records(2), *poison, *records(2, 2)])
        await eventually(lambda: len(sink.delivered) == 4 and sample(registry, "kubevigil_delivery_queue_depth") == 0)
    await delivery.shutdown(1.0)

    assert [r.id for r in sink.delivered] == ["r0", "r1", "r2", "r3"]
    lines = [orjson.loads(line) for line in deadletter_path(tmp_path, "s").read_bytes().splitlines()]
    assert [line["item"]["id"] for line in lines] == ["bad0", "bad1"]
    assert lines[0]["reason"] == "rejected: 400 mapper_parsing_exception"
    assert lines[0]["sink"] == "s" and lines[0]["time"] > 0 and lines[0]["item"]["body"] == {"poison": True}
    assert sample(registry, "kubevigil_delivery_dead_lettered_total") == 2
    dead_logs = [entry for entry in logs if entry["event"] == "items dead-lettered"]
    assert len(dead_logs) == 1 and dead_logs[0]["reason"] == "rejected: 400 mapper_parsing_exception"
    assert journal_rows(tmp_path) == 0


async def test_item_failures_dead_letter_permanent_and_requeue_retryable_in_order(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.01))
    failed_once: set[str] = set()

    def item_failures(batch):
        out = []
        for index, item in enumerate(batch):
            if item.id == "r1":
                out.append(ItemFailure(index, "mapper_parsing_exception: bad field", retryable=False))
            if item.id in {"r2", "r3"} and item.id not in failed_once:
                failed_once.add(item.id)
                out.append(ItemFailure(index, "es_rejected_execution_exception", retryable=True))
        return out

    sink.item_failures = item_failures
    delivery = make(tmp_path, sink, registry)
    await delivery.start()
    await delivery.outlets["s"].put(records(5))
    await eventually(lambda: sample(registry, "kubevigil_delivery_queue_depth") == 0)
    await delivery.shutdown(1.0)

    accepted = [r.id for r in sink.delivered if r.id not in {"r1"}]
    # First batch: r0, r4 accepted (r2, r3 failed alone); the retry carries r2, r3 in their original order.
    assert sink.batches[0] == records(5)
    assert [r.id for r in sink.batches[1]] == ["r2", "r3"]
    assert sorted(set(accepted)) == ["r0", "r2", "r3", "r4"]
    dead = [orjson.loads(line) for line in deadletter_path(tmp_path, "s").read_bytes().splitlines()]
    assert [(d["item"]["id"], d["reason"]) for d in dead] == [("r1", "mapper_parsing_exception: bad field")]
    assert sample(registry, "kubevigil_delivery_sent_total") == 5 - 1 - 2 + 2
    assert sample(registry, "kubevigil_delivery_retried_total") == 2


async def test_retry_delays_are_bounded_by_cap_on_a_manual_clock(tmp_path, registry):
    clock = ManualClock()
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.0001))
    sink.down = True
    delivery = make(tmp_path, sink, registry, clock=clock, retry_base=1.0, retry_cap=8.0, retry_max_age=100.0)
    await delivery.start()
    await delivery.outlets["s"].put(records(3))
    await clock.advance(0.001)
    # The clock is advanced only once the sender sleeps on it: a send that failed is some loop turns away from
    # its backoff sleep, and an advance in between would move time past a sleeper that is not there yet.
    await eventually(lambda: sink.attempts == 1 and clock.sleepers == 1)
    # Full jitter means any delay in [0, min(cap, base * 2**n)]: each cap-long step must bring a retry.
    for _ in range(1, 10):
        before = sink.attempts
        await clock.advance(8.0)
        await eventually(lambda before=before: sink.attempts > before and clock.sleepers == 1)
    assert sample(registry, "kubevigil_delivery_failed_total") == sink.attempts
    assert sink.delivered == []

    # Past retry_max_age the items stop being retried and go to the dead-letter file with the last error.
    for _ in range(10):
        before = sink.attempts
        await clock.advance(8.0)
        await eventually(lambda before=before: (sink.attempts > before and clock.sleepers == 1)
                         or journal_rows(tmp_path) == 0)
    assert clock.now() - 1_700_000_000.0 < 200.0
    assert sample(registry, "kubevigil_delivery_dead_lettered_total") == 3
    dead = [orjson.loads(line) for line in deadletter_path(tmp_path, "s").read_bytes().splitlines()]
    assert dead[0]["reason"] == "undelivered after retry_max_age 100s: RetryableError: 503 Service Unavailable"
    await delivery.shutdown(0.0)


async def test_send_timeout_counts_as_retryable_failure(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    sink.delay = 5.0
    delivery = make(tmp_path, sink, registry, timeout=0.05)
    await delivery.start()
    await delivery.outlets["s"].put(records(2))
    await eventually(lambda: sample(registry, "kubevigil_delivery_failed_total") >= 1)
    sink.delay = 0.0
    await eventually(lambda: len(sink.delivered) == 2)
    await delivery.shutdown(1.0)
    assert sample(registry, "kubevigil_delivery_dead_lettered_total") == 0


async def test_shutdown_flushes_within_grace_without_waiting_for_batch_age(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=500, max_age=3600.0))
    delivery = make(tmp_path, sink, registry)
    await delivery.start()
    await delivery.outlets["s"].put(records(7))
    started = time.monotonic()
    await delivery.shutdown(5.0)
    assert time.monotonic() - started < 2.0
    assert [r.id for r in sink.delivered] == [f"r{i}" for i in range(7)]
    assert journal_rows(tmp_path) == 0
    with pytest.raises(DeliveryClosed, match="sink 's' is not running"):
        await delivery.outlets["s"].put(records(1))


async def test_shutdown_persists_what_grace_did_not_cover_and_next_start_replays(tmp_path):
    slow = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    slow.delay = 0.05
    first = make(tmp_path, slow, CollectorRegistry())
    await first.start()
    await first.outlets["s"].put(records(500))
    started = time.monotonic()
    await first.shutdown(0.3)
    assert time.monotonic() - started < 1.5
    sent_first = [r.id for r in slow.delivered]
    assert 0 < len(sent_first) < 500
    assert journal_rows(tmp_path) == 500 - len(sent_first)

    fast = ScriptedSink(BatchLimits(max_items=100, max_age=0.001))
    second = make(tmp_path, fast, CollectorRegistry())
    await second.start()
    await eventually(lambda: len(fast.delivered) >= 500 - len(sent_first))
    await second.shutdown(1.0)
    replayed = [r.id for r in fast.delivered]
    assert set(sent_first) | set(replayed) == {f"r{i}" for i in range(500)}
    assert replayed == sorted(replayed, key=lambda i: int(i[1:]))  # replay keeps the original order


async def test_backpressure_blocks_put_and_fails_readiness_until_sink_returns(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=50, max_age=0.001))
    sink.down = True
    delivery = make(tmp_path, sink, registry, max_queue_items=100)
    assert not delivery.readiness().ok
    await delivery.start()
    assert delivery.readiness().ok
    await delivery.outlets["s"].put(records(100))
    readiness = delivery.readiness()
    assert not readiness.ok and "sink s (100 items)" in readiness.detail

    blocked = asyncio.create_task(delivery.outlets["s"].put(records(10, 100)))
    attempts = sink.attempts
    await eventually(lambda: sink.attempts >= attempts + 3)
    assert not blocked.done()
    sink.down = False
    await asyncio.wait_for(blocked, 10)
    await eventually(lambda: len(sink.delivered) == 110)
    assert delivery.readiness().ok
    await delivery.shutdown(1.0)


async def test_oldest_unsent_age_and_depth_are_computed_at_scrape(tmp_path, registry):
    clock = ManualClock()
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    sink.down = True
    delivery = make(tmp_path, sink, registry, clock=clock, retry_base=100.0, retry_cap=100.0)
    await delivery.start()
    await delivery.outlets["s"].put(records(4))
    await clock.advance(42.0)
    await eventually(lambda: sink.attempts >= 1)
    assert sample(registry, "kubevigil_delivery_queue_depth") == 4
    assert sample(registry, "kubevigil_delivery_oldest_unsent_age_seconds") == pytest.approx(42.0)
    assert sample(registry, "kubevigil_delivery_send_duration_seconds_count") >= 1
    await delivery.shutdown(0.0)


async def test_memory_only_delivery_writes_no_journal(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    delivery = make(tmp_path, sink, registry, journal=False, memory_items=5)
    await delivery.start()
    await delivery.outlets["s"].put(records(40))
    await eventually(lambda: len(sink.delivered) == 40)
    await delivery.shutdown(1.0)
    assert [r.id for r in sink.delivered] == [f"r{i}" for i in range(40)]
    assert not journal_path(tmp_path, "s").exists()


async def test_wrong_kind_and_bad_sink_name_are_clear_errors(tmp_path, registry):
    class RecordsOnly(ScriptedSink):
        kinds = frozenset({"record"})

    delivery = make(tmp_path, RecordsOnly(), registry)
    await delivery.start()
    with pytest.raises(TypeError, match=r"sink 's' accepts \['record'\], got a metric"):
        await delivery.outlets["s"].put([Metric(name="x", value=1.0, timestamp=1.0)])
    await delivery.shutdown(0.0)
    with pytest.raises(ValueError, match=re.escape("sink name '../x' is not usable")):
        Delivery({"../x": (ScriptedSink(), DeliveryParams())}, state_dir=tmp_path, clock=SystemClock(),
                 registry=CollectorRegistry())


async def test_metrics_and_records_round_trip_through_the_journal(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    sink.down = True
    delivery = make(tmp_path, sink, registry, memory_items=1)
    await delivery.start()
    items = [Metric(name="Up", value=1.0, timestamp=5.0, unit="Count", kind="counter", dimensions=(("a", "b"),)),
             Record(id="x", timestamp=6.0, body={"nested": {"k": [1, 2]}})] * 3
    await delivery.outlets["s"].put(items)
    sink.down = False
    await eventually(lambda: len(sink.delivered) == 6)
    await delivery.shutdown(1.0)
    assert sink.delivered == items  # the window holds 1; the rest came back decoded from sqlite


async def test_unencodable_item_is_refused_at_put_with_its_id(tmp_path, registry):
    delivery = make(tmp_path, ScriptedSink(), registry)
    await delivery.start()
    with pytest.raises(TypeError, match="sink 's': record 'x' cannot be encoded as JSON"):
        await delivery.outlets["s"].put([Record(id="x", timestamp=1.0, body={"bad": {1, 2}})])
    assert journal_rows(tmp_path) == 0
    await delivery.shutdown(0.0)


async def test_a_sender_that_dies_on_a_bug_makes_delivery_unready(tmp_path, registry):
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    delivery = make(tmp_path, sink, registry)
    await delivery.start()
    queue = delivery.outlets["s"]

    async def broken_delete(seqs):
        raise RuntimeError("disk I/O error")

    queue._journal.delete = broken_delete  # type: ignore[attr-defined]
    await queue.put(records(1))
    await eventually(lambda: not delivery.readiness().ok)
    assert delivery.readiness().detail == "delivery sender stopped for sink s (RuntimeError: disk I/O error)"
    await delivery.shutdown(0.0)


async def test_batches_go_out_on_real_time_even_with_a_manual_clock(tmp_path, registry):
    clock = ManualClock()
    sink = ScriptedSink(BatchLimits(max_items=100, max_age=0.02))
    delivery = make(tmp_path, sink, registry, clock=clock)
    await delivery.start()
    await delivery.outlets["s"].put(records(3))
    await eventually(lambda: len(sink.delivered) == 3)  # the clock never moved
    await delivery.shutdown(1.0)


async def test_refused_access_keeps_items_backs_off_long_and_fails_readiness_until_fixed(tmp_path, registry):
    clock = ManualClock()
    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    sink.refuse = "401 Unauthorized"
    delivery = make(tmp_path, sink, registry, clock=clock, access_retry_base=30.0, access_retry_cap=300.0)
    await delivery.start()
    with structlog.testing.capture_logs() as logs:
        await delivery.outlets["s"].put(records(3))
        await eventually(lambda: sink.attempts == 1 and clock.sleepers == 1)
        readiness = delivery.readiness()
        assert not readiness.ok and "s (401 Unauthorized)" in readiness.detail
        assert sample(registry, "kubevigil_delivery_access_denied") == 1
        for _ in range(3):  # each retry waits on the long backoff: uniform in [0, 30 * 2**n], at most 300 s
            before = sink.attempts
            await clock.advance(300.0)
            await eventually(lambda before=before: sink.attempts > before and clock.sleepers == 1)
        sink.refuse = ""
        await clock.advance(300.0)
        await eventually(lambda: len(sink.delivered) == 3)
    assert delivery.readiness().ok
    assert sample(registry, "kubevigil_delivery_access_denied") == 0
    assert sample(registry, "kubevigil_delivery_dead_lettered_total") == 0
    errors = [e for e in logs if e["event"].startswith("sink refuses")]
    assert len(errors) == 1 and errors[0]["log_level"] == "error" and errors[0]["error"] == "401 Unauthorized"
    assert any(e["event"] == "sink accepts access again" for e in logs)
    await delivery.shutdown(1.0)
