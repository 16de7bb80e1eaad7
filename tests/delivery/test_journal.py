"""The sqlite journal: WAL, order across reopen, sequence numbers never reused, broken rows dead-lettered."""

from __future__ import annotations

import random
import sqlite3
import time
from pathlib import Path

import orjson
from prometheus_client import CollectorRegistry

from kubevigil.core.backoff import backoff_delay
from kubevigil.core.clock import SystemClock
from kubevigil.core.signals import Metric, Record
from kubevigil.delivery.codec import decode, encode
from kubevigil.delivery.delivery import Delivery, deadletter_path, journal_path
from kubevigil.delivery.journal import MemoryJournal, SqliteJournal
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.sink import BatchLimits
from tests.conditions import eventually
from tests.delivery.scripted import ScriptedSink, records


async def test_sqlite_journal_is_wal_ordered_and_never_reuses_a_seq(tmp_path: Path):
    path = tmp_path / "j.db"
    journal = SqliteJournal(path)
    await journal.open()
    seqs = await journal.append([(1.0, b"a"), (2.0, b"bb")])
    assert seqs == [1, 2] and (journal.count, journal.size) == (2, 3)
    await journal.delete(seqs)
    assert (journal.count, journal.size) == (0, 0)
    await journal.close()

    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    reopened = SqliteJournal(path)
    await reopened.open()
    assert await reopened.append([(3.0, b"c"), (4.0, b"d"), (5.0, b"e")]) == [3, 4, 5]
    await reopened.delete([4])
    assert [(r.seq, r.data) for r in await reopened.read_after(0, 10)] == [(3, b"c"), (5, b"e")]
    assert [r.seq for r in await reopened.read_after(3, 1)] == [5]
    await reopened.close()


async def test_memory_journal_keeps_the_same_contract():
    journal = MemoryJournal()
    await journal.open()
    assert await journal.append([(1.0, b"a"), (2.0, b"b"), (3.0, b"c")]) == [1, 2, 3]
    await journal.delete([2])
    assert [r.seq for r in await journal.read_after(0, 10)] == [1, 3]
    assert (journal.count, journal.size) == (2, 2)


def test_codec_round_trips_both_kinds():
    metric = Metric(name="m", value=2.5, timestamp=1.0, unit="Seconds", kind="counter", dimensions=(("a", "1"),))
    record = Record(id="r", timestamp=2.0, body={"x": [1, {"y": None}]})
    assert decode(encode(metric)) == metric
    assert decode(encode(record)) == record
    assert orjson.loads(encode(record))["k"] == "r"


def test_backoff_is_full_jitter_under_an_exponential_cap():
    rng = random.Random(7)
    for attempt in range(12):
        ceiling = min(30.0, 0.5 * 2**attempt)
        delays = [backoff_delay(attempt, 0.5, 30.0, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # full jitter spans the whole range
    assert backoff_delay(10_000, 0.5, 30.0, rng) <= 30.0  # no overflow after days of failures


async def test_undecodable_journal_row_is_dead_lettered_raw_and_the_rest_delivered(tmp_path: Path):
    path = journal_path(tmp_path, "s")
    journal = SqliteJournal(path)
    await journal.open()
    now = time.time()
    await journal.append([(now, encode(records(1)[0])), (now, b'{"k": "zz"}'), (now, encode(records(1, 1)[0]))])
    await journal.close()

    sink = ScriptedSink(BatchLimits(max_items=10, max_age=0.001))
    registry = CollectorRegistry()
    delivery = Delivery({"s": (sink, DeliveryParams())}, state_dir=tmp_path, clock=SystemClock(), registry=registry)
    await delivery.start()
    await eventually(lambda: len(sink.delivered) == 2)
    await delivery.shutdown(1.0)
    assert [r.id for r in sink.delivered] == ["r0", "r1"]
    dead = orjson.loads(deadletter_path(tmp_path, "s").read_bytes())
    assert dead["reason"] == "journal entry cannot be decoded" and dead["raw"] == '{"k": "zz"}'
    assert registry.get_sample_value("kubevigil_delivery_dead_lettered_total", {"sink": "s"}) == 1
