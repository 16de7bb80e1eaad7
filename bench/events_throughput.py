"""Events/s from the emulator's watch through the anchor routing config to the sinks, and peak RSS.

Usage: python bench/events_throughput.py [N]   (prints one line: events/s end to end, RSS)
Hook: the sinks here are in-process collectors standing in for the fake OpenSearch `_bulk` server and the file
sink; replace `Collect` by real outlets (delivery + sinks) once `tests/fakes/search_server.py` is wired in.
"""

from __future__ import annotations

import asyncio
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import yaml
from prometheus_client import CollectorRegistry

from kubevigil.clock import SystemClock
from kubevigil.config.importers import event_exporter
from kubevigil.kube.client import connect
from kubevigil.kube.resources import by_kind
from kubevigil.roles.events.config import EventsConfig
from kubevigil.roles.events.role import EventsRole
from kubevigil.roles.role import RoleContext
from kubevigil.signals import Signal
from kubevigil.sim.cluster import Cluster

ANCHOR = Path("/work/shared/anchors/kubernetes-event-exporter/config.example.yaml")


class Collect:
    kinds = frozenset({"record"})

    def __init__(self, name: str) -> None:
        self.name = name
        self.count = 0

    async def put(self, items: Sequence[Signal]) -> None:
        self.count += len(items)


async def main(n: int) -> None:
    doc = yaml.safe_load(ANCHOR.read_text())
    native, _ = event_exporter.translate(doc, ANCHOR)
    section = EventsConfig.model_validate({**native["events"], "leader_election": {"enabled": False},
                                           "max_event_age_seconds": 0})
    outlets = {name: Collect(name) for name in native["sinks"]}
    async with Cluster(workloads=False, history=n + 1000) as cluster:
        store = cluster.store
        store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        with tempfile.TemporaryDirectory() as tmp:
            api = await connect(str(cluster.write_kubeconfig(Path(tmp) / "kubeconfig")))
            ctx = RoleContext("bench", api, outlets, SystemClock(), CollectorRegistry(), Path(tmp), "bench")
            role = EventsRole(section, ctx)
            task = asyncio.create_task(role.run())
            while role.informer is None or not role.informer.synced.is_set():
                await asyncio.sleep(0.01)
            started = time.perf_counter()
            for i in range(n):
                store.create(by_kind("Event"), {
                    "apiVersion": "v1", "kind": "Event", "metadata": {"name": f"e{i}", "namespace": "shop"},
                    "involvedObject": {"kind": "Pod", "name": f"p{i % 50}", "namespace": "shop", "apiVersion": "v1"},
                    "reason": "BackOff", "message": f"m{i}", "type": "Warning" if i % 3 else "Normal", "count": 1,
                    "source": {"component": "kubelet", "host": "node-1"}})
                if i % 500 == 0:
                    await asyncio.sleep(0)
            while outlets["dump"].count < n:
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - started
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await api.aclose()
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"events_throughput: {n / elapsed:,.0f} events/s end to end ({n} events, {elapsed:.2f} s), "
          f"peak RSS {rss:.0f} MB")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000))
