"""kill -9 of `kubevigil run` mid-stream, more events while it is down, restart: nothing lost, no duplicate document.

The child is the real CLI in its own process; the emulator runs in the test process. The file sink is not
idempotent, so at-least-once may repeat the last uncommitted batches there (bounded, measured); the search sink
indexes by record id, so it holds each occurrence exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from collections import Counter
from pathlib import Path

import yaml

from kubevigil.sim.cluster import Cluster
from kubevigil.sim.eventrecorder import EventRecorder, kubelet
from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, child
from tests.events.workload import shop_objects
from tests.fakes.search_server import FakeSearchServer

ROLE_BATCH = 500  # kubevigil.roles.events.role.BATCH: occurrences journaled before one checkpoint commit
FILE_BATCH = 500  # the file sink's BatchLimits.max_items: lines written before delivery marks them sent
# A crash can repeat at most the batch journaled but not yet checkpointed, plus the batch written but not yet
# marked sent (docs/events.md, "Guarantees").
DUPLICATE_BOUND = ROLE_BATCH + FILE_BATCH


def write_config(tmp_path: Path, kubeconfig: Path, search_url: str) -> Path:
    delivery = FAST_DELIVERY.model_dump()
    doc = {
        "cluster": {"name": "kill9", "kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0"},
        "logging": {"level": "warning"},
        "state_dir": str(tmp_path / "state"),
        "sinks": {"out": {"file": {"path": str(tmp_path / "out" / "events.jsonl")}, "delivery": delivery},
                  "search": {"opensearch": {"hosts": [search_url]}, "delivery": delivery}},
        "leader_election": {"enabled": False},
        "events": {"max_event_age_seconds": 0,
                   "route": {"routes": [{"match": [{"receiver": "out"}, {"receiver": "search"}]}]}},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def file_ids(out_dir: Path) -> list[str]:
    """Record ids of every complete line in the file sink's output (rotated files included)."""
    ids: list[str] = []
    for path in sorted(out_dir.glob("events.jsonl*")):
        for line in path.read_bytes().splitlines():
            with contextlib.suppress(ValueError):
                ids.append(json.loads(line)["id"])
    return ids


async def test_kill9_mid_stream_then_restart(cluster: Cluster, kubeconfig: Path, opensearch: FakeSearchServer,
                                            tmp_path: Path) -> None:
    config = write_config(tmp_path, kubeconfig, opensearch.url)
    out_dir, log = tmp_path / "out", tmp_path / "child.log"
    objs = shop_objects(cluster)
    rec = EventRecorder(cluster.store, cluster.clock)
    expected: set[str] = set()
    events: dict[str, dict] = {}

    def emit(message: str) -> None:
        ev = rec.record(objs["pod"], kubelet("node-1"), "Warning", "BackOff", message)
        events[message] = ev
        expected.add(f"{ev['metadata']['uid']}-{ev['count']}")

    async def produce(messages: list[str]) -> None:
        for i, message in enumerate(messages):
            emit(message)
            if i % 10 == 0:
                await asyncio.sleep(0.02)  # about 500 events/s: the kill lands mid-stream

    async with child(config, log) as first:
        producer = asyncio.create_task(produce([f"m{i}" for i in range(3000)]))
        await eventually(lambda: min(len(file_ids(out_dir)), opensearch.state.count()) >= 300
                    or first.returncode is not None, timeout=60)
        assert first.returncode is None, log.read_text()[-3000:]
        first.send_signal(signal.SIGKILL)
        await first.wait()
        await producer
    before_restart = len(set(file_ids(out_dir)))
    assert before_restart < len(expected), "the kill came after everything was exported; nothing was tested"
    # While kubevigil is down: new events, and repeats of events both sinks already hold. (A repeat of an event
    # nobody exported yet folds into one occurrence: the API keeps only the latest count.)
    delivered = set(file_ids(out_dir)) & set(opensearch.state.all_ids())
    repeated = [m for m, ev in events.items() if f"{ev['metadata']['uid']}-1" in delivered][:100]
    assert len(repeated) == 100
    await produce([*repeated, *(f"n{i}" for i in range(400))])

    def progress() -> str:
        return (f"expected {len(expected)}, search {opensearch.state.count()}, file {len(set(file_ids(out_dir)))}; "
                f"log: {log.read_text()[-2000:]}")

    async with child(config, log) as second:
        await eventually(lambda: opensearch.state.count() >= len(expected) or second.returncode is not None, timeout=90,
                    state=progress)
        await eventually(lambda: len(set(file_ids(out_dir))) >= len(expected) or second.returncode is not None, timeout=30)
        assert second.returncode is None, log.read_text()[-3000:]
        second.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(second.wait(), 20) == 0

    assert sorted(opensearch.state.all_ids()) == sorted(expected)  # each occurrence once, none missing
    ids = file_ids(out_dir)
    assert set(ids) == expected
    duplicates = sum(n - 1 for n in Counter(ids).values())
    print(f"kill -9: {len(expected)} occurrences, {before_restart} in the file before the kill, "
          f"{duplicates} duplicate lines in the file, {opensearch.state.writes - opensearch.state.count()} "
          "search documents overwritten by a resend")
    assert duplicates <= DUPLICATE_BOUND
