"""Per-request acknowledgement: a sink that sends one request per record tells delivery as each goes through, so
the journal forgets it before the next request; a record still queued is not queued twice."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.core.signals import Signal
from kubevigil.delivery.delivery import Delivery, journal_path
from kubevigil.delivery.journal import MemoryJournal, SqliteJournal
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, RetryableError, SignalKind, Sink, no_ack
from tests.conditions import eventually
from tests.delivery.scripted import ScriptedSink, records


class OnePerRecord(Sink[Any]):
    """Sends each record as its own request (as webhook, Slack, Teams, Opsgenie do) and acknowledges it.

    `hold` makes the request for that record wait until released; `fail_at` makes it raise once."""

    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"record"})
    limits = BatchLimits(max_items=50, max_age=0.01)

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.hold: str | None = None
        self.release = asyncio.Event()
        self.fail_at: str | None = None

    async def send(self, batch: Sequence[Signal], ack: Ack = no_ack) -> list[ItemFailure]:
        for index, item in enumerate(batch):
            assert hasattr(item, "id")
            if item.id == self.fail_at:
                self.fail_at = None
                raise RetryableError("503 Service Unavailable")
            if item.id == self.hold:
                await self.release.wait()
            self.requests.append(item.id)
            await ack([index])
        return []


def journal_rows(tmp_path: Path) -> int:
    with sqlite3.connect(journal_path(tmp_path, "s")) as conn:
        return int(conn.execute("SELECT count(*) FROM items").fetchone()[0])


def make(tmp_path: Path, sink: Sink[Any], registry: CollectorRegistry | None = None, **params: Any) -> Delivery:
    return Delivery({"s": (sink, DeliveryParams(retry_base=0.005, retry_cap=0.02, **params))}, state_dir=tmp_path,
                    clock=SystemClock(), registry=registry or CollectorRegistry())


async def test_each_request_leaves_the_journal_before_the_next_goes_out(tmp_path: Path) -> None:
    sink = OnePerRecord()
    sink.hold = "r30"
    delivery = make(tmp_path, sink)
    await delivery.start()
    await delivery.outlets["s"].put(records(50))
    await eventually(lambda: len(sink.requests) == 30)
    # The request for r30 is in flight: a crash now would resend it and nothing before it.
    await eventually(lambda: journal_rows(tmp_path) == 20)
    sink.release.set()
    await eventually(lambda: journal_rows(tmp_path) == 0)
    await delivery.shutdown(1.0)
    assert sink.requests == [f"r{i}" for i in range(50)]


async def test_a_failure_mid_batch_retries_only_what_was_not_acknowledged(tmp_path: Path) -> None:
    sink = OnePerRecord()
    sink.fail_at = "r7"
    delivery = make(tmp_path, sink)
    await delivery.start()
    await delivery.outlets["s"].put(records(20))
    await eventually(lambda: journal_rows(tmp_path) == 0)
    await delivery.shutdown(1.0)
    assert sink.requests == [f"r{i}" for i in range(20)]  # r0..r6 went out once, not again with the retry


async def test_a_timeout_after_acknowledgements_resends_only_the_rest(tmp_path: Path) -> None:
    sink = OnePerRecord()
    sink.hold = "r5"
    registry = CollectorRegistry()
    delivery = make(tmp_path, sink, registry, timeout=0.2)
    await delivery.start()
    await delivery.outlets["s"].put(records(10))
    await eventually(lambda: journal_rows(tmp_path) == 5)  # r0..r4 acknowledged, the send of r5 hangs
    await eventually(lambda: (registry.get_sample_value("kubevigil_delivery_failed_total", {"sink": "s"}) or 0) >= 1)
    sink.hold = None
    sink.release.set()
    await eventually(lambda: journal_rows(tmp_path) == 0)
    await delivery.shutdown(1.0)
    assert sink.requests == [f"r{i}" for i in range(10)]


async def test_a_replayed_record_is_not_queued_again(tmp_path: Path) -> None:
    down = ScriptedSink(BatchLimits(max_items=100, max_age=0.01))
    down.down = True
    first = make(tmp_path, down)
    await first.start()
    await first.outlets["s"].put(records(10))
    await first.shutdown(0.0)  # as a crash would: the ten stay in the journal
    sink = ScriptedSink(BatchLimits(max_items=100, max_age=0.01))
    sink.down = True
    second = make(tmp_path, sink)
    await second.start()
    # The role re-exports what it had not checkpointed: the replayed ten again, and five new ones.
    await second.outlets["s"].put(records(15))
    assert journal_rows(tmp_path) == 15
    assert second.outlets["s"].depth == 15  # type: ignore[attr-defined]
    sink.down = False
    await eventually(lambda: journal_rows(tmp_path) == 0)
    await second.outlets["s"].put(records(1))  # delivered after the replay, handed over once more: still skipped
    await second.shutdown(1.0)
    assert [r.id for r in sink.delivered] == [f"r{i}" for i in range(15)]


async def test_the_sqlite_journal_skips_ids_it_held_when_opened(tmp_path: Path) -> None:
    journal = SqliteJournal(tmp_path / "j.db")
    await journal.open()
    assert await journal.append([(1.0, b"a"), (1.0, b"m")], ["x", None]) == [1, 2]
    assert await journal.append([(1.0, b"a")], ["x"]) == [3]  # nothing was replayed: an id is not looked up
    await journal.close()
    reopened = SqliteJournal(tmp_path / "j.db")
    await reopened.open()
    assert await reopened.append([(2.0, b"a"), (2.0, b"m"), (2.0, b"y")], ["x", None, "y"]) == [None, 4, 5]
    assert (reopened.count, reopened.size) == (5, 5)
    await reopened.delete([1, 3])
    assert await reopened.append([(3.0, b"a")], ["x"]) == [None]  # replayed and delivered: still not again
    await reopened.close()
    memory = MemoryJournal()
    assert await memory.append([(1.0, b"a"), (1.0, b"a")], ["x", "x"]) == [1, 2]


async def test_a_journal_from_before_record_ids_opens_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE items (seq INTEGER PRIMARY KEY AUTOINCREMENT, time REAL NOT NULL,"
                     " size INTEGER NOT NULL, data BLOB NOT NULL)")
        conn.execute("INSERT INTO items (time, size, data) VALUES (1.0, 1, x'61')")
    journal = SqliteJournal(path)
    await journal.open()
    assert journal.count == 1
    assert await journal.append([(2.0, b"b")], ["x"]) == [2]
    assert [r.data for r in await journal.read_after(0, 10)] == [b"a", b"b"]
    await journal.close()
