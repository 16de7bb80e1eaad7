"""Delivery throughput and memory: records/s into the file sink and into the journal, RSS with 1M waiting, replay,
and the cost of acknowledging each request of a one-request-per-record sink.

Run: .venv/bin/python bench/delivery.py  (prints one figure per line; each figure runs in a fresh process)
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.core.signals import Record, Signal
from kubevigil.delivery.delivery import Delivery
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.file.params import Params
from kubevigil.sinks.file.sink import FileSink
from kubevigil.sinks.sink import Ack, ItemFailure, RetryableError, SignalKind, Sink, SinkContext, no_ack

BATCH = 500


class DownSink(Sink[Any]):
    """A sink that is always down, so every accepted record stays in the journal."""

    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"record"})

    async def send(self, batch: Sequence[Signal], ack: Ack = no_ack) -> list[ItemFailure]:
        raise RetryableError("down")


class PerRecordSink(Sink[Any]):
    """One "request" per record, as webhook/Slack/Teams/Opsgenie make, with no network: what is left is delivery's
    own cost, acknowledging each request (`acked`) or only the whole batch when `send` returns."""

    kinds: ClassVar[frozenset[SignalKind]] = frozenset({"record"})

    def __init__(self, acked: bool) -> None:
        self.acked = acked

    async def send(self, batch: Sequence[Signal], ack: Ack = no_ack) -> list[ItemFailure]:
        for index in range(len(batch)):
            await asyncio.sleep(0)  # the request
            if self.acked:
                await ack([index])
        return []


def records(start: int, n: int) -> list[Record]:
    return [
        Record(id=f"evt-{i:09d}", timestamp=1_700_000_000.0 + i,
               body={"reason": "BackOff", "namespace": "shop", "message": f"Back-off restarting failed container {i}"})
        for i in range(start, start + n)
    ]


def make(state: Path, sink: Sink[Any], registry: CollectorRegistry) -> Delivery:
    params = DeliveryParams(batch_max_items=BATCH, retry_base=5.0, retry_cap=5.0)
    return Delivery({"bench": (sink, params)}, state_dir=state, clock=SystemClock(), registry=registry)


async def through_file(total: int, producers: int) -> float:
    """Records/s from the first put to the last record written to the file sink."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        registry = CollectorRegistry()
        ctx = SinkContext(name="bench", cluster_name="bench", state_dir=state, registry=registry)
        return await through(state, FileSink(Params(path=state / "out.jsonl"), ctx), registry, total, producers)


async def through_per_record(total: int, acked: bool) -> float:
    """Records/s through a one-request-per-record sink, one producer."""
    with tempfile.TemporaryDirectory() as tmp:
        return await through(Path(tmp), PerRecordSink(acked), CollectorRegistry(), total, producers=1)


async def through(state: Path, sink: Sink[Any], registry: CollectorRegistry, total: int, producers: int) -> float:
    """Records/s from the first put to the last record the sink accepted."""
    delivery = make(state, sink, registry)
    await delivery.start()
    outlet = delivery.outlets["bench"]
    started = time.perf_counter()

    await put_all(outlet, total, producers)
    while (registry.get_sample_value("kubevigil_delivery_sent_total", {"sink": "bench"}) or 0) < total:
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    await delivery.shutdown(5.0)
    return total / elapsed


async def put_all(outlet: Any, total: int, producers: int) -> None:
    """`total` records put in batches of BATCH by `producers` concurrent producers."""

    async def produce(offset: int) -> None:
        for start in range(offset, total, BATCH * producers):
            await outlet.put(records(start, BATCH))

    await asyncio.gather(*(produce(p * BATCH) for p in range(producers)))


async def into_journal(total: int, producers: int) -> float:
    """Records/s accepted (durable in the journal) while the sink is down; then peak RSS in MB."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        delivery = make(state, DownSink(), CollectorRegistry())
        await delivery.start()
        outlet = delivery.outlets["bench"]
        started = time.perf_counter()

        await put_all(outlet, total, producers)
        elapsed = time.perf_counter() - started
        await delivery.shutdown(0.0)
        return total / elapsed


async def replay(total: int) -> float:
    """Fill the journal with the sink down, restart, and time draining it into the file sink (records/s)."""
    with tempfile.TemporaryDirectory() as tmp:
        state = Path(tmp)
        down = make(state, DownSink(), CollectorRegistry())
        await down.start()
        for start in range(0, total, BATCH):
            await down.outlets["bench"].put(records(start, BATCH))
        await down.shutdown(0.0)
        registry = CollectorRegistry()
        ctx = SinkContext(name="bench", cluster_name="bench", state_dir=state, registry=registry)
        started = time.perf_counter()
        delivery = make(state, FileSink(Params(path=state / "out.jsonl"), ctx), registry)
        await delivery.start()
        while (registry.get_sample_value("kubevigil_delivery_sent_total", {"sink": "bench"}) or 0) < total:
            await asyncio.sleep(0.01)
        elapsed = time.perf_counter() - started
        await delivery.shutdown(5.0)
        return total / elapsed


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_phase(phase: str, total: int) -> None:
    if phase == "file":
        print(f"{asyncio.run(through_file(total, producers=4)):.0f}")
    elif phase == "down":
        print(f"{asyncio.run(into_journal(total, producers=4)):.0f}")
    elif phase == "replay":
        rate = asyncio.run(replay(total))
        print(f"{rate:.0f} records/s, peak RSS {peak_rss_mb():.0f} MB")
    elif phase == "rss":
        asyncio.run(into_journal(total, producers=4))
        print(f"{peak_rss_mb():.0f}")
    elif phase in ("acked", "unacked"):
        print(f"{asyncio.run(through_per_record(total, acked=phase == 'acked')):.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--phase", choices=["file", "down", "rss", "replay", "acked", "unacked"])
    parser.add_argument("--records", type=int, default=200_000, help="records for the two throughput figures")
    parser.add_argument("--waiting", type=int, default=1_000_000, help="records waiting in the journal for the RSS figure")
    args = parser.parse_args()
    if args.phase:
        run_phase(args.phase, args.waiting if args.phase in {"rss", "replay"} else args.records)
        return
    figures = [
        ("file", args.records, "records/s through delivery into the file sink (journal on, batches of 500)"),
        ("down", args.records, "records/s written to the journal with the sink down"),
        ("rss", args.waiting // 10, f"MB peak RSS with {args.waiting // 10:,} records waiting in the journal"),
        ("rss", args.waiting, f"MB peak RSS with {args.waiting:,} records waiting in the journal"),
        ("replay", args.waiting, f"replaying {args.waiting:,} journaled records into the file sink after a restart"),
        ("acked", args.records // 10, "records/s through a one-request-per-record sink acknowledging each request"),
        ("unacked", args.records // 10, "records/s through the same sink acknowledging once per batch"),
    ]
    for phase, total, label in figures:
        out = subprocess.run(
            [sys.executable, __file__, "--phase", phase, "--records", str(total), "--waiting", str(total)],
            check=True, capture_output=True, text=True, timeout=1800,
        )
        print(f"{out.stdout.strip().splitlines()[-1]} {label}", flush=True)


if __name__ == "__main__":
    main()
