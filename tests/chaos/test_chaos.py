"""The chaos test (issue 10 §7): `kubevigil run` (events + status) and `kubevigil sim serve`, both real processes,
with two local receivers, while the test injects one fault after another:

1. the webhook receiver answers 503, then refuses connections, then recovers;
2. kill -9 of kubevigil while its webhook sink has a burst in flight, restart on the same state_dir;
3. kill -9 of the emulator, restart on the same state file;
4. the emulator restarted on an older copy of its state file (an etcd restore: resourceVersions move backwards);
5. the admin token rotated in the token file that the emulator and kubevigil's kubeconfig (`tokenFile`) both read.

Events are written through the API all along, also while kubevigil or a receiver is down (retried while the API
server is). Then: every occurrence reached both receivers, the idempotent one (the fake search server, documents
by id) holding one document each, the webhook seeing at most one request again per kubevigil crash
(docs/delivery.md, "What a crash can resend"); the heartbeat never said 1 from a view older than its bound while
the API server was gone (docs/operations.md, "API server gone"); /readyz failed while kubevigil was blind or down
and was 200 after every fault; kubevigil logged JSON lines only and no process printed a traceback.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import json
import os
import secrets
import signal
import ssl
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.conditions import eventually
from tests.events.endpoints import FAST_DELIVERY, child
from tests.fakes.search_server import FakeSearchServer
from tests.loopback import free_port
from tests.status.test_api_outage import heartbeats, log_entries

BOUND = 2.0  # status and events `stale_after_seconds`: blind after this long without word from the API server
INTERVAL = 0.5  # status `seconds`
PACE = 0.1  # seconds between two writes of the event producer: about 10 Events a second
BURST = 200  # Events written at once before kubevigil is killed, so that the kill lands mid-batch
CRASHES = 1  # kill -9s of kubevigil: the webhook may see one request again per crash
NS = "chaos"
TRACEBACK = b"Traceback (most recent call last)"


class Emulator:
    """`kubevigil sim serve` on a fixed port, with a state file, a kept serving CA and an admin token file."""

    def __init__(self, tmp_path: Path, port: int) -> None:
        self.port = port
        self.state = tmp_path / "sim-state.json"
        self.certs = tmp_path / "sim-certs"
        self.token_file = tmp_path / "sim-token"
        self.kubeconfig_out = tmp_path / "sim-kubeconfig"
        self.log = tmp_path / "sim.log"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.kubeconfig_out.unlink(missing_ok=True)
        with self.log.open("ab") as out:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "kubevigil.cli", "sim", "serve", "--port", str(self.port), "--no-workloads",
                "--kubeconfig-out", str(self.kubeconfig_out), "--state-file", str(self.state),
                "--cert-dir", str(self.certs), "--token-file", str(self.token_file), stdout=out, stderr=out)
        self.proc = proc
        await eventually(lambda: self.kubeconfig_out.exists() or proc.returncode is not None, timeout=60,
                         what="the emulator serving")
        assert proc.returncode is None, self.log.read_text()[-2000:]

    async def kill9(self) -> float:
        """kill -9; returns when it happened."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()
        return time.time()

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()

    def ca_data(self) -> str:
        return str(yaml.safe_load(self.kubeconfig_out.read_text())["clusters"][0]["cluster"]
                   ["certificate-authority-data"])

    def token(self) -> str:
        return self.token_file.read_text().strip()

    def rotate_token(self) -> None:
        """A new admin token, written as the kubelet writes a projected token: a new file renamed over the old."""
        tmp = self.token_file.with_name(".token.new")
        tmp.write_text(secrets.token_urlsafe(24) + "\n")
        os.replace(tmp, self.token_file)


class Hook:
    """The webhook's receiver on a fixed loopback port: counts accepted requests by record id, answers 503 while
    `failing`, refuses connections while stopped."""

    def __init__(self) -> None:
        self.accepted: Counter[str] = Counter()
        self.answered_503 = 0
        self.failing = False
        self.port = 0
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, request: web.Request) -> web.Response:
        await request.read()
        if self.failing:
            self.answered_503 += 1
            return web.json_response({"error": "down"}, status=503)
        self.accepted[request.headers["X-Record-Id"]] += 1
        await asyncio.sleep(0.003)  # so that a request is in flight most of the time
        return web.json_response({"ok": True})

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


class Producer:
    """Writes Events through the API: mostly new ones, every fourth write one more occurrence (count + 1) of an Event
    whose last occurrence the webhook already holds (so no occurrence is folded into a later one unseen). A write
    that fails (API server down, old token) is tried again; `expected` holds `<uid>-<count>` of every write the API
    server acknowledged."""

    def __init__(self, emulator: Emulator, delivered: Callable[[str], bool]) -> None:
        self.emulator = emulator
        self.delivered = delivered
        self.expected: set[str] = set()
        self.counts: dict[str, tuple[str, int]] = {}  # uid -> (name, latest count)
        self.last_rv = ""
        self.failures = 0
        self.bumps = 0
        self._next = 0
        self._writes = 0
        self._running = asyncio.Event()
        self._lock = asyncio.Lock()
        self._http: aiohttp.ClientSession | None = None

    @contextlib.asynccontextmanager
    async def producing(self) -> AsyncIterator[None]:
        """A session to the emulator and the paced writer (started paused: `resume`)."""
        tls = ssl.create_default_context(cadata=base64.b64decode(self.emulator.ca_data()).decode())
        async with aiohttp.ClientSession(base_url=self.emulator.server, connector=aiohttp.TCPConnector(ssl=tls),
                                         timeout=aiohttp.ClientTimeout(total=5)) as self._http:
            task = asyncio.create_task(self._paced())
            try:
                yield
            finally:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    def resume(self) -> None:
        self._running.set()

    async def pause(self) -> None:
        """Stop writing; returns once no write is in flight."""
        self._running.clear()
        async with self._lock:
            pass

    async def burst(self, n: int) -> None:
        async with self._lock:
            for _ in range(n):
                await self._try(self._create)

    async def seed(self) -> None:
        """The namespace and the Pod the Events are about (retried until the emulator takes them)."""
        objects = [("/api/v1/namespaces", {"metadata": {"name": NS}}),
                   (f"/api/v1/namespaces/{NS}/pods", {"metadata": {"name": "victim", "labels": {"app": "victim"}},
                                                      "spec": {"containers": [{"name": "c", "image": "nginx"}]}})]
        for path, body in objects:
            async with self._request("POST", path, json=body) as resp:
                assert resp.status in (201, 409), await resp.text()

    async def _paced(self) -> None:
        while True:
            await self._running.wait()
            async with self._lock:
                self._writes += 1
                bump = self._bump_candidate() if self._writes % 4 == 0 else None
                await self._try(self._create if bump is None else functools.partial(self._bump, bump))
            await asyncio.sleep(PACE)

    async def _try(self, write: Callable[[], Awaitable[None]]) -> None:
        try:
            await write()
        except (aiohttp.ClientError, TimeoutError):
            self.failures += 1

    def _request(self, method: str, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> Any:
        assert self._http is not None
        return self._http.request(method, path, **kwargs,
                                  headers={"Authorization": f"Bearer {self.emulator.token()}", **(headers or {})})

    async def _create(self) -> None:
        name = f"chaos-{self._next}"
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"metadata": {"name": name, "namespace": NS}, "type": "Warning", "reason": "Chaos",
                "message": f"occurrence {self._next}", "count": 1, "firstTimestamp": now, "lastTimestamp": now,
                "source": {"component": "chaos-test"},
                "involvedObject": {"apiVersion": "v1", "kind": "Pod", "namespace": NS, "name": "victim"}}
        async with self._request("POST", f"/api/v1/namespaces/{NS}/events", json=body) as resp:
            if resp.status != 201:
                self.failures += 1
                return
            self._acknowledged(await resp.json())
        self._next += 1

    def _bump_candidate(self) -> str | None:
        return next((uid for uid, (_, count) in self.counts.items()
                     if count < 3 and self.delivered(f"{uid}-{count}")), None)

    async def _bump(self, uid: str) -> None:
        name, count = self.counts[uid]
        now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        async with self._request("PATCH", f"/api/v1/namespaces/{NS}/events/{name}",
                                 json={"count": count + 1, "lastTimestamp": now},
                                 headers={"Content-Type": "application/merge-patch+json"}) as resp:
            if resp.status == 404:  # written after the backup the API server was restored from: gone
                del self.counts[uid]
            elif resp.status != 200:
                self.failures += 1
            else:
                self._acknowledged(await resp.json())
                self.bumps += 1

    def _acknowledged(self, event: dict[str, Any]) -> None:
        meta = event["metadata"]
        self.counts[meta["uid"]] = (meta["name"], event["count"])
        self.expected.add(f"{meta['uid']}-{event['count']}")
        self.last_rv = meta["resourceVersion"]


class Kubevigil:
    """`kubevigil run` as a child process, started and killed as many times as the test likes; its log appended
    to one file."""

    def __init__(self, config: Path, log: Path, http: aiohttp.ClientSession) -> None:
        self.config = config
        self.log = log
        self.http = http
        self.base = ""
        self.proc: asyncio.subprocess.Process | None = None
        self._stack: contextlib.AsyncExitStack | None = None

    async def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        self._stack = contextlib.AsyncExitStack()
        proc = self.proc = await self._stack.enter_async_context(child(self.config, self.log))
        port = await eventually(lambda: self._started_port(offset) or proc.returncode is not None, timeout=60,
                                what="kubevigil started", state=self.tail)
        assert proc.returncode is None, self.tail()
        self.base = f"http://127.0.0.1:{port}"

    async def kill9(self) -> None:
        assert self.proc is not None and self._stack is not None
        self.proc.send_signal(signal.SIGKILL)
        await self._stack.aclose()

    async def stop(self) -> None:
        """SIGTERM: a clean stop within the grace period."""
        assert self.proc is not None and self._stack is not None
        self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(30):
            assert await self.proc.wait() == 0, self.tail()
        await self._stack.aclose()

    async def close(self) -> None:
        if self._stack is not None:
            await self._stack.aclose()

    def tail(self) -> str:
        return f"kubevigil log: {self.log.read_text()[-3000:]}" if self.log.exists() else "no log"

    def _started_port(self, offset: int) -> int | None:
        with self.log.open("rb") as f:
            f.seek(offset)
            for line in f.read().splitlines():
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if entry.get("event") == "started":
                        return int(entry["port"])
        return None

    async def readyz(self) -> tuple[int, str]:
        """/readyz's status and body; 0 when nothing answers (kubevigil is down)."""
        try:
            async with self.http.get(f"{self.base}/readyz") as resp:
                return resp.status, await resp.text()
        except (aiohttp.ClientError, TimeoutError) as exc:
            return 0, repr(exc)

    async def ready_status(self) -> int:
        return (await self.readyz())[0]

    async def metric(self, sample: str, **labels: str) -> float:
        async with self.http.get(f"{self.base}/metrics") as resp:
            text = await resp.text()
        return sum(s.value for family in text_string_to_metric_families(text) for s in family.samples
                   if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items()))


def write_kubeconfig(tmp_path: Path, emulator: Emulator) -> Path:
    """kubevigil's kubeconfig: the emulator's (kept) CA, and its token read from the token file, as in a pod."""
    doc = {"apiVersion": "v1", "kind": "Config", "current-context": "sim",
           "clusters": [{"name": "sim", "cluster": {"server": emulator.server,
                                                    "certificate-authority-data": emulator.ca_data()}}],
           "users": [{"name": "sim", "user": {"tokenFile": str(emulator.token_file)}}],
           "contexts": [{"name": "sim", "context": {"cluster": "sim", "user": "sim", "namespace": "default"}}]}
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(doc))
    return path


def write_config(tmp_path: Path, kubeconfig: Path, search_url: str, hook_url: str, beats: Path) -> Path:
    delivery = FAST_DELIVERY.model_dump()
    doc = {
        "cluster": {"name": "chaos", "kubeconfig": str(kubeconfig)},
        "server": {"listen": "127.0.0.1:0"},
        "logging": {"level": "info", "format": "json"},
        "state_dir": str(tmp_path / "state"),
        # Leader election is off: a killed leader's Lease would hold the restart back for its duration.
        "leader_election": {"enabled": False},
        "sinks": {"search": {"opensearch": {"hosts": [search_url]}, "delivery": delivery},
                  "hook": {"webhook": {"endpoint": hook_url, "headers": {"X-Record-Id": "{{ record_id }}"}},
                           "delivery": delivery},
                  "beat": {"file": {"path": str(beats)}, "delivery": delivery}},
        # The webhook comes last in the route: the role checkpoints a batch right after handing it to the last
        # receiver, so only the journal's own replay can repeat a webhook request (docs/delivery.md).
        "events": {"namespace": NS, "max_event_age_seconds": 0, "stale_after_seconds": BOUND,
                   "route": {"routes": [{"match": [{"receiver": "search"}, {"receiver": "hook"}]}]}},
        "status": {"seconds": INTERVAL, "stale_after_seconds": BOUND, "when_stale": "zero",
                   "metric": {"name": "Heartbeat"}, "targets": [{"kind": "Node"}], "sinks": ["beat"]},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def logged(entries: list[dict[str, Any]], event: str, since: float, until: float) -> list[dict[str, Any]]:
    """The lines of `event` logged between two times."""
    return [e for e in entries if e.get("event") == event
            and since <= datetime.fromisoformat(e["timestamp"]).timestamp() <= until]


@pytest.mark.timeout(240)
async def test_chaos(tmp_path: Path) -> None:
    started = time.monotonic()
    emulator, hook = Emulator(tmp_path, free_port()), Hook()
    run_log, beats, backup = tmp_path / "kubevigil.log", tmp_path / "heartbeat.jsonl", tmp_path / "sim-backup.json"
    blind: list[tuple[str, float, float]] = []  # (fault, API server gone at, brought back at)
    readyz: dict[str, tuple[int, int]] = {}  # fault -> (/readyz while it lasted, /readyz after it)
    written_while: dict[str, int] = {}  # fault -> Events the API server acknowledged while it lasted

    with FakeSearchServer("opensearch") as search:
        await emulator.start()
        await hook.start()
        config = write_config(tmp_path, write_kubeconfig(tmp_path, emulator), search.url, hook.url, beats)
        producer = Producer(emulator, delivered=lambda rid: rid in hook.accepted)
        async with producer.producing(), aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=5)) as http:
            kubevigil = Kubevigil(config, run_log, http)

            def exported() -> set[str]:
                return set(hook.accepted) & set(search.state.all_ids())

            async def caught_up(what: str) -> None:
                """Both receivers hold every occurrence the API server has acknowledged so far."""
                target = set(producer.expected)
                await eventually(lambda: target <= exported(), timeout=90, what=what,
                                 state=lambda: f"{len(target - exported())} of {len(target)} not exported; "
                                               f"{kubevigil.tail()}")

            async def ready(what: str) -> int:
                async def is_ready() -> bool:
                    return await kubevigil.ready_status() == 200

                await eventually(is_ready, timeout=60, interval=0.1, what=what, state=kubevigil.tail)
                return 200

            async def writes_go_on(fault: str) -> None:
                """Let the producer write a few Events while the fault lasts (the only waits of an outage)."""
                before = len(producer.expected)
                await eventually(lambda: len(producer.expected) >= before + 5, timeout=30, what=f"writes: {fault}")
                written_while[fault] = len(producer.expected) - before

            async def api_gone(fault: str, gone_at: float, bring_back: Callable[[], Awaitable[None]]) -> None:
                """The API server is gone since `gone_at`: kubevigil must say it is blind (/readyz 503, a heartbeat
                of 0) before the server comes back, and be ready again after."""
                async def blind_readyz() -> bool:
                    status, body = await kubevigil.readyz()
                    return status == 503 and f"has not heard from {emulator.server}" in body

                await eventually(blind_readyz, timeout=60, what=f"/readyz 503: {fault}", state=kubevigil.tail)
                await eventually(lambda: any(t > gone_at and v == 0 for t, v in heartbeats(beats)), timeout=30,
                                 what=f"a heartbeat of 0: {fault}", state=kubevigil.tail)
                blind.append((fault, gone_at, time.time()))
                await bring_back()
                readyz[fault] = (503, await ready(f"/readyz 200 after: {fault}"))

            await producer.seed()
            await kubevigil.start()
            await ready("/readyz 200 at start")
            producer.resume()
            await eventually(lambda: any(v == 1 for _, v in heartbeats(beats)), timeout=30, what="a heartbeat of 1",
                             state=kubevigil.tail)
            await writes_go_on("start")
            await caught_up("the first Events exported")

            # 1. The webhook's receiver fails: 503s, then refused connections; then it answers again.
            hook.failing = True
            await eventually(lambda: hook.answered_503 >= 3, timeout=30, what="the webhook retried on 503")
            failed = await kubevigil.metric("kubevigil_delivery_failed_total", sink="hook")
            await hook.stop()

            async def refused_and_retried() -> bool:
                return await kubevigil.metric("kubevigil_delivery_failed_total", sink="hook") >= failed + 2

            await writes_go_on("receiver outage")
            await eventually(refused_and_retried, timeout=30, what="the webhook retried on refused connections")
            during = await kubevigil.ready_status()  # a sink down is no blindness: ready until its queue is full
            hook.failing = False
            await hook.start()
            await caught_up("exported after the receiver outage")
            readyz["receiver outage"] = (during, await ready("/readyz after the outage"))

            # The etcd backup for step 4 (the emulator replaces its state file atomically: a copy is consistent).
            backup.write_bytes(emulator.state.read_bytes())

            # 2. kill -9 of kubevigil in the middle of a burst; more Events while it is down; restart.
            before = sum(hook.accepted.values())
            await producer.burst(BURST)
            await eventually(lambda: sum(hook.accepted.values()) >= before + BURST // 5, timeout=60,
                             what="the burst on its way", state=kubevigil.tail)
            await kubevigil.kill9()
            in_flight_at_kill = len(producer.expected) - len(exported())
            down = await kubevigil.ready_status()
            await writes_go_on("kubevigil killed")
            await kubevigil.start()
            readyz["kubevigil killed"] = (down, await ready("/readyz 200 after kubevigil's restart"))
            await caught_up("exported after kubevigil's restart")

            # 3. kill -9 of the emulator once the store on disk holds every acknowledged write; restart on it.
            await producer.pause()
            rv = f'"resourceVersion":"{producer.last_rv}"'.encode()
            await eventually(lambda: rv in emulator.state.read_bytes(), timeout=10, what="the state file saved")
            gone_at = await emulator.kill9()
            producer.resume()
            await api_gone("emulator killed", gone_at, emulator.start)
            await caught_up("exported after the emulator's restart")

            # 4. The emulator comes back on the older backup. What it loses was exported before.
            await producer.pause()
            await caught_up("exported before the restore")
            gone_at = await emulator.kill9()
            emulator.state.write_bytes(backup.read_bytes())
            producer.resume()
            await api_gone("restored older store", gone_at, emulator.start)
            await writes_go_on("after the restore")
            await caught_up("exported after the restore")

            # 5. Token rotation: the old token gets 401 within half a second; kubevigil re-reads its token file.
            reloaded = b'"event": "Kubernetes config reloaded"'
            reloads = run_log.read_bytes().count(reloaded)
            rotated_at = time.time()
            emulator.rotate_token()
            await eventually(lambda: run_log.read_bytes().count(reloaded) > reloads, timeout=30,
                             what="kubevigil reloaded its token", state=kubevigil.tail)
            await writes_go_on("token rotation")
            await eventually(lambda: any(t > rotated_at + 2 * BOUND and v == 1 for t, v in heartbeats(beats)),
                             timeout=30, what="a heartbeat of 1 with the new token", state=kubevigil.tail)
            readyz["token rotation"] = (await kubevigil.ready_status(), await ready("/readyz after the rotation"))

            await producer.pause()
            await caught_up("everything exported at the end")
            try:
                await kubevigil.stop()
            finally:
                await kubevigil.close()
                await emulator.stop()
                await hook.stop()
        documents, writes = set(search.state.all_ids()), search.state.writes

    expected = producer.expected
    duplicates = {rid: n - 1 for rid, n in hook.accepted.items() if n > 1}
    print(f"chaos: {len(expected)} occurrences ({producer.bumps} repeats) in {time.monotonic() - started:.0f}s; "
          f"written while faults lasted {written_while}; {in_flight_at_kill} not yet at both receivers at the "
          f"kill -9; webhook duplicates {duplicates}; search documents overwritten {writes - len(documents)}; "
          f"producer writes refused or unanswered {producer.failures}; /readyz {readyz}")
    # Every occurrence exported; the idempotent sink holds one document each; the webhook got at most the one
    # request in flight at each crash again (docs/delivery.md, "What a crash can resend").
    assert documents == expected
    assert set(hook.accepted) == expected
    assert sum(duplicates.values()) <= CRASHES, duplicates
    # A heartbeat of 1 comes from a view at most BOUND old: none later than that after the API server went away.
    for fault, gone_at, back_at in blind:
        assert [(t, v) for t, v in heartbeats(beats) if gone_at + BOUND < t < back_at and v == 1] == [], fault
    # /readyz: not ready while blind (503) or down (nothing answers); 200 after every fault.
    assert readyz == {"receiver outage": (200, 200), "kubevigil killed": (0, 200), "emulator killed": (503, 200),
                      "restored older store": (503, 200), "token rotation": (200, 200)}
    # Logs are JSON lines (log_entries fails on anything else) and tell each outage (docs/operations.md): a warning
    # per informer and one from the status role, however soon it follows the last.
    entries = log_entries(run_log)
    for fault, gone_at, back_at in blind:
        since = gone_at - 1  # the kill's time is taken after the process is gone
        failing = logged(entries, "informer cannot list/watch", since, back_at)
        assert {e["informer"] for e in failing} == {"events", "status:Node:*:*"}, (fault, failing)
        assert all(e["level"] == "warning" and e["server"] == emulator.server for e in failing)
        assert logged(entries, "view of the cluster is stale; healthy values are not published", since, back_at), fault
    assert len(logged(entries, "informer recovered", 0, time.time())) >= 2 * len(blind)
    # No process printed a traceback, not even inside a line.
    for log in (run_log, emulator.log):
        assert TRACEBACK not in log.read_bytes(), log.read_text()[-3000:]
