"""kill -9 of `kubevigil run` while its webhook sink has a batch in flight (issue 10 §6): after the restart the
receiver holds every occurrence, and sees at most the one request in flight at the kill twice.

The child is the real CLI; the emulator and the receiver run in the test process. The receiver counts requests
by the record id the webhook sends in a header, as a receiver doing its own deduplication would.
"""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path

import yaml
from aiohttp import web

from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, child
from tests.events.workload import shop_objects
from tests.loopback import serving

EVENTS = 1200
KILL_AFTER = 250  # requests received before the kill: it lands mid-batch (a webhook batch is up to 50 records)


class CountingReceiver:
    """Answers each POST after a short delay (so a request is in flight most of the time) and counts record ids."""

    def __init__(self) -> None:
        self.received: Counter[str] = Counter()

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        self.received[request.headers["X-Record-Id"]] += 1
        await asyncio.sleep(0.003)
        return web.json_response({"ok": True})


def write_config(tmp_path: Path, kubeconfig: Path, url: str) -> Path:
    doc = {
        "cluster": {"name": "kill9", "kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0"},
        "logging": {"level": "warning"},
        "state_dir": str(tmp_path / "state"),
        "sinks": {"hook": {"webhook": {"endpoint": url, "headers": {"X-Record-Id": "{{ record_id }}"}},
                           "delivery": FAST_DELIVERY.model_dump()}},
        "leader_election": {"enabled": False},
        "events": {"max_event_age_seconds": 0,
                   "route": {"routes": [{"match": [{"receiver": "hook"}]}]}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


async def test_kill9_resends_at_most_the_request_in_flight(cluster: Cluster, kubeconfig: Path, tmp_path: Path) -> None:
    objs = shop_objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    expected = set()
    for i in range(EVENTS):
        ev = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", f"m{i}")
        expected.add(f"{ev['metadata']['uid']}-{ev['count']}")
    hook = CountingReceiver()
    log = tmp_path / "child.log"
    async with serving(hook.handle) as url:
        config = write_config(tmp_path, kubeconfig, f"{url}/hook")
        async with child(config, log) as first:
            await eventually(lambda: sum(hook.received.values()) >= KILL_AFTER or first.returncode is not None,
                             timeout=90)
            assert first.returncode is None, log.read_text()[-3000:]
            first.send_signal(signal.SIGKILL)
            await first.wait()
        before = sum(hook.received.values())
        assert before < EVENTS, "the kill came after everything was delivered; nothing was tested"

        async with child(config, log) as second:
            await eventually(lambda: set(hook.received) >= expected or second.returncode is not None, timeout=120)
            assert second.returncode is None, log.read_text()[-3000:]
            second.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(second.wait(), 20) == 0

    assert set(hook.received) == expected
    duplicates = {rid: n for rid, n in hook.received.items() if n > 1}
    print(f"kill -9 with the webhook sink: {EVENTS} occurrences, {before} requests before the kill, "
          f"duplicates {duplicates}")
    assert sum(n - 1 for n in duplicates.values()) <= 1, duplicates
