"""Events from the emulator's watch through the anchor routing config to a fake search `_bulk` server and file sinks.

Three processes, so kubevigil's RSS and CPU are its own: this orchestrator, the "world" (the emulator plus the fake
search server, which stamps each document's arrival) and `kubevigil run` (the real CLI).

    .venv/bin/python bench/events_throughput.py                   # throughput, ratio, latency, RSS (~6 min)
    .venv/bin/python bench/events_throughput.py --events 20000 --rss-events 100000    # a quicker run

Figures: (1) events/s end to end with bulk batching, and the same with one request per event (the original's
behaviour) as a ratio; (2) p50/p99 latency from the event's write in the emulator to its arrival at the search
server at 1,000 events/s; (3) kubevigil's RSS sampled while `--rss-events` (1,000,000) events stream at
`--rss-rate` per second (the world deletes events older than the newest 20,000, as Kubernetes expires them, so the
cluster itself stays bounded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
ANCHOR = Path(__file__).resolve().parents[1] / "tests" / "anchors" / "kubernetes-event-exporter" / "config.example.yaml"
# In the RSS run the world deletes events older than the newest KEEP_EVENTS, as the API server's event TTL would;
# at the RSS rate each event lives several seconds, so no event is deleted before a watcher can have seen it.
KEEP_EVENTS = 20_000
WRITTEN = "bench.kubevigil.io/written"


# -- the world: emulator + fake search server, driven by JSON lines on stdin -------------------------------------------

async def world(kubeconfig: Path) -> None:
    from kubevigil.kube.resources import by_kind
    from kubevigil.sim.cluster import Cluster
    from tests.fakes.search_server import FakeSearchServer

    arrivals: list[float] = []

    class StampingSearch(FakeSearchServer):
        """Records, per document, how long after its write in the emulator it arrived."""

        def _apply(self, op: str, index: str, doc_id: str | None, source: dict[str, Any]) -> dict[str, Any]:
            written = ((source.get("metadata") or {}).get("annotations") or {}).get(WRITTEN)
            if written:
                arrivals.append(time.time() - float(written))
            return super()._apply(op, index, doc_id, source)  # type: ignore[misc]

    search = StampingSearch("elasticsearch").start()
    event = by_kind("Event")
    async with Cluster(workloads=False, history=50_000) as cluster:
        store = cluster.store
        store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "shop"}})
        cluster.write_kubeconfig(kubeconfig)
        seq = 0
        live: deque[str] = deque()

        def emit(keep: int | None) -> None:
            nonlocal seq
            i = seq
            seq += 1
            store.create(event, {
                "apiVersion": "v1", "kind": "Event",
                "metadata": {"name": f"e{i}", "namespace": "shop", "annotations": {WRITTEN: repr(time.time())}},
                "involvedObject": {"kind": "Pod", "name": f"p{i % 50}", "namespace": "shop", "apiVersion": "v1"},
                "reason": "BackOff", "message": f"Back-off restarting failed container {i}",
                "type": "Warning" if i % 3 else "Normal", "count": 1,
                "source": {"component": "kubelet", "host": "node-1"}})
            live.append(f"e{i}")
            if keep is not None and len(live) > keep:
                store.delete(event, "shop", live.popleft())

        async def run(n: int, rate: float, keep: int | None) -> None:
            start = time.perf_counter()
            for k in range(n):
                emit(keep)
                if rate and k % 10 == 9:
                    await asyncio.sleep(max(0.0, start + (k + 1) / rate - time.perf_counter()))
                elif k % 200 == 199:
                    await asyncio.sleep(0)

        reply({"search": search.url})
        reader = asyncio.StreamReader()
        await asyncio.get_running_loop().connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
        emitting: asyncio.Task[None] | None = None
        while line := await reader.readline():
            cmd = json.loads(line)
            if cmd["cmd"] == "emit":
                emitting = asyncio.create_task(run(cmd["n"], cmd.get("rate", 0), cmd.get("keep")))
                reply({"ok": True})
            elif cmd["cmd"] == "stats":
                done = emitting is None or emitting.done()
                reply({"docs": search.state.count(), "writes": search.state.writes, "emitted": seq,
                       "emitting": not done, "bulk_requests": search.state.bulk_requests,
                       "latencies": sorted(arrivals) if cmd.get("latencies") else []})
            elif cmd["cmd"] == "halt":
                if emitting is not None:
                    emitting.cancel()
                reply({"ok": True})
            elif cmd["cmd"] == "reset":
                search.state.docs.clear()
                search.state.writes = search.state.bulk_requests = 0
                arrivals.clear()
                reply({"ok": True})
    search.stop()


def reply(obj: dict) -> None:
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


# -- the orchestrator --------------------------------------------------------------------------------------------------

class World:
    def __init__(self, tmp: Path) -> None:
        self.kubeconfig = Path(tempfile.mkdtemp(dir=tmp)) / "kubeconfig"
        self.proc = subprocess.Popen([sys.executable, __file__, "--world", str(self.kubeconfig)], cwd=ROOT,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                     stderr=open(tmp / "world.log", "ab"))  # noqa: SIM115
        self.search = self._read()["search"]

    def _read(self) -> dict:
        assert self.proc.stdout is not None
        return json.loads(self.proc.stdout.readline())

    def ask(self, **cmd: Any) -> dict:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(30)


def config(tmp: Path, world: World, name: str, per_event: bool) -> Path:
    """The anchor's route tree; `dump` is the search server, every other receiver it uses a file sink."""
    from kubevigil.config.importers import event_exporter

    native, _ = event_exporter.translate(yaml.safe_load(ANCHOR.read_text()), ANCHOR)
    delivery: dict[str, Any] = {"batch_max_age": 0.2, "timeout": 10}
    dump_delivery = {**delivery, "batch_max_items": 1} if per_event else delivery
    root = tmp / name
    sinks: dict[str, Any] = {"dump": {"elasticsearch": {"hosts": [world.search], "index": "kube-events"},
                                      "delivery": dump_delivery}}
    for receiver in ("alert", "pipe", "slack", "firehose"):
        sinks[receiver] = {"file": {"path": str(root / f"{receiver}.jsonl")}, "delivery": delivery}
    events = {**native["events"], "max_event_age_seconds": 0}
    doc = {"cluster": {"name": "bench", "kubeconfig": str(world.kubeconfig)}, "server": {"listen": "127.0.0.1:0"},
           "leader_election": {"enabled": False},
           "logging": {"level": "warning"}, "state_dir": str(root / "state"), "sinks": sinks, "events": events}
    root.mkdir(parents=True)
    path = root / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


class Kubevigil:
    def __init__(self, cfg: Path) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "kubevigil.cli", "run", "--config", str(cfg)], cwd=ROOT,
                                     stdout=subprocess.DEVNULL, stderr=open(cfg.parent / "log", "wb"))  # noqa: SIM115

    def rss_mb(self) -> tuple[float, float]:
        """(current, peak) resident set in MB, from /proc."""
        fields = dict(line.split(":", 1) for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines())
        return int(fields["VmRSS"].split()[0]) / 1024, int(fields["VmHWM"].split()[0]) / 1024

    def cpu_seconds(self) -> float:
        parts = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(60)


def wait_docs(world: World, n: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        stats = world.ask(cmd="stats")
        if stats["docs"] >= n:
            return stats
        if time.monotonic() > deadline:
            raise SystemExit(f"only {stats['docs']} of {n} documents arrived within {timeout}s: {stats}")
        time.sleep(0.05)


def start(world: World, cfg: Path) -> Kubevigil:
    """kubevigil on a fresh emulator holding one probe event; running once that probe has arrived."""
    world.ask(cmd="emit", n=1, rate=0)
    kv = Kubevigil(cfg)
    try:
        wait_docs(world, 1, 60)
    except SystemExit as exc:
        kv.stop()
        raise SystemExit(f"{exc}; kubevigil's log ends: {(cfg.parent / 'log').read_text()[-2000:]}") from None
    world.ask(cmd="reset")
    return kv


def throughput(tmp: Path, world: World, n: int, per_event: bool) -> tuple[float, float, int]:
    """(events/s, kubevigil CPU-s per 1,000 events, bulk requests) for n events written as fast as possible."""
    kv = start(world, config(tmp, world, f"throughput-{'per-event' if per_event else 'bulk'}", per_event))
    try:
        cpu0, t0 = kv.cpu_seconds(), time.perf_counter()
        world.ask(cmd="emit", n=n, rate=0)
        stats = wait_docs(world, n, 600)
        elapsed = time.perf_counter() - t0
        return n / elapsed, (kv.cpu_seconds() - cpu0) / n * 1000, stats["bulk_requests"]
    finally:
        kv.stop()


def latency(tmp: Path, world: World, rate: int, seconds: int) -> tuple[float, float, float]:
    kv = start(world, config(tmp, world, "latency", False))
    try:
        world.ask(cmd="emit", n=rate * seconds, rate=rate)
        wait_docs(world, rate * seconds, seconds + 60)
        lat = world.ask(cmd="stats", latencies=True)["latencies"]
        return lat[len(lat) // 2], lat[int(len(lat) * 0.99)], lat[-1]
    finally:
        kv.stop()


def rss(
    tmp: Path, world: World, target: int, rate: int, seconds: float
) -> tuple[int, list[tuple[int, float]], float, float]:
    """(events exported, [(events so far, RSS MB)] every ~5% of the target, peak RSS MB, seconds taken) while
    `target` events stream at `rate` per second (a rate the pipeline sustains), or for at most `seconds`."""
    kv = start(world, config(tmp, world, "rss", False))
    try:
        world.ask(cmd="emit", n=target, rate=rate, keep=KEEP_EVENTS)
        samples: list[tuple[int, float]] = []
        t0 = time.monotonic()
        step = max(1, target // 20)
        while time.monotonic() - t0 < seconds:
            time.sleep(0.5)
            docs = world.ask(cmd="stats")["docs"]
            if not samples or docs - samples[-1][0] >= step or docs >= target:
                samples.append((docs, kv.rss_mb()[0]))
            if docs >= target:
                break
        world.ask(cmd="halt")
        return samples[-1][0], samples, kv.rss_mb()[1], time.monotonic() - t0
    finally:
        kv.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--events", type=int, default=50_000, help="events for the throughput figure")
    parser.add_argument("--per-event-events", type=int, default=2_000, help="events for the one-request-per-event run")
    parser.add_argument("--latency-seconds", type=int, default=20, help="seconds at 1,000 events/s")
    parser.add_argument("--rss-events", type=int, default=1_000_000, help="events streamed for the RSS figure")
    parser.add_argument("--rss-rate", type=int, default=4_000, help="events per second in the RSS phase")
    parser.add_argument("--rss-seconds", type=float, default=900, help="at most this long for the RSS figure")
    args = parser.parse_args()
    if args.world:
        asyncio.run(world(args.world))
        return
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        bulk_rate, bulk_cpu, bulk_requests = in_world(tmp, lambda w: throughput(tmp, w, args.events, False))
        print(f"bulk: {bulk_rate:,.0f} events/s end to end ({args.events:,} events, {bulk_requests} _bulk "
              f"requests), kubevigil {bulk_cpu:.3f} CPU-s per 1,000 events", flush=True)
        one_rate, one_cpu, one_requests = in_world(tmp, lambda w: throughput(tmp, w, args.per_event_events, True))
        print(f"one request per event: {one_rate:,.0f} events/s ({one_requests} requests), {one_cpu:.3f} CPU-s "
              f"per 1,000 events; bulk/per-event = {bulk_rate / one_rate:.1f}x", flush=True)
        p50, p99, worst = in_world(tmp, lambda w: latency(tmp, w, 1000, args.latency_seconds))
        print(f"latency at 1,000 events/s for {args.latency_seconds}s, write in emulator -> arrival at search: "
              f"p50 {p50 * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms, max {worst * 1000:.0f} ms", flush=True)
        total, samples, peak, took = in_world(tmp, lambda w: rss(tmp, w, args.rss_events, args.rss_rate, args.rss_seconds))
        series = ", ".join(f"{n:,}: {mb:.0f}" for n, mb in samples)
        print(f"RSS while streaming {total:,} events at {args.rss_rate:,}/s in {took:.0f}s: peak {peak:.0f} MB; "
              f"events exported: RSS MB = {series}", flush=True)


def in_world(tmp: Path, phase: Any) -> Any:
    """Run one phase against a fresh emulator process."""
    world = World(tmp)
    try:
        return phase(world)
    finally:
        world.close()


if __name__ == "__main__":
    main()
