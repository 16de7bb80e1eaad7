"""Run as a child process: put N records through Delivery into a slow file sink, report acks, wait to be killed."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.core.signals import Record, Signal
from kubevigil.delivery.delivery import Delivery
from kubevigil.delivery.settings import DeliveryParams
from kubevigil.sinks.file.params import Params
from kubevigil.sinks.file.sink import FileSink
from kubevigil.sinks.sink import Ack, BatchLimits, ItemFailure, SinkContext, no_ack


class SlowFileSink(FileSink):
    """The real file sink, slowed down so the kill lands while batches are still going out."""

    limits = BatchLimits(max_items=50, max_age=0.01)

    async def send(self, batch: Sequence[Signal], ack: Ack = no_ack) -> list[ItemFailure]:
        await asyncio.sleep(0.02)
        return await super().send(batch)


async def main(state_dir: Path, out: Path, total: int) -> None:
    ctx = SinkContext(name="out", cluster_name="test", state_dir=state_dir, registry=CollectorRegistry())
    sink = SlowFileSink(Params(path=out, fsync="never"), ctx)
    delivery = Delivery({"out": (sink, DeliveryParams())}, state_dir=state_dir, clock=SystemClock(),
                        registry=CollectorRegistry())
    await delivery.start()
    for start in range(0, total, 100):
        batch = [Record(id=f"id{i}", timestamp=float(i), body={"i": i}) for i in range(start, min(total, start + 100))]
        await delivery.outlets["out"].put(batch)
        print(f"acked {start + len(batch)}", flush=True)
    await asyncio.Event().wait()  # until SIGKILL


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])))
