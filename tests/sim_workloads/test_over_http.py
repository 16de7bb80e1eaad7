"""The simulator behind the emulator's HTTP API on 127.0.0.1, read and written as a client would."""

from __future__ import annotations

import ssl
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from kubevigil.core.clock import ManualClock
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.democluster import DEMO_NODES, node_manifest
from tests.sim_workloads.helpers import NODE_RES, deployment

TIMEOUT = aiohttp.ClientTimeout(total=10)


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[Cluster, ManualClock, aiohttp.ClientSession]]:
    clock = ManualClock()
    async with Cluster(clock=clock) as c:
        for host, ip, zone, instance in DEMO_NODES:
            c.store.create(NODE_RES, node_manifest(host, ip, zone, instance, clock.now()))
        headers = {"Authorization": f"Bearer {c.token}"}
        trust = ssl.create_default_context(cadata=c.cert.cert_pem.decode())
        connector = aiohttp.TCPConnector(ssl=trust)
        async with aiohttp.ClientSession(base_url=c.url, headers=headers, timeout=TIMEOUT,
                                         connector=connector) as http:
            yield c, clock, http


async def _get(http: aiohttp.ClientSession, path: str, **params: str) -> dict:
    async with http.get(path, params=params) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def _advance_until(clock: ManualClock, check, limit: float = 600.0, step: float = 1.0):
    """Advance the simulated clock until `check()` returns a truthy value (bounded in clock and wall time)."""
    wall_deadline = time.monotonic() + 30
    advanced = 0.0
    while advanced <= limit and time.monotonic() < wall_deadline:
        result = await check()
        if result:
            return result
        await clock.advance(step)
        advanced += step
    raise AssertionError(f"condition not met after {advanced}s of clock time")


async def test_deployment_posted_over_http_gets_ready_pods(cluster) -> None:
    _, clock, http = cluster
    async with http.post("/apis/apps/v1/namespaces/default/deployments", json=deployment("web", 2)) as resp:
        assert resp.status == 201, await resp.text()

    async def ready() -> dict | None:
        d = await _get(http, "/apis/apps/v1/namespaces/default/deployments/web")
        return d if d.get("status", {}).get("readyReplicas") == 2 else None

    d = await _advance_until(clock, ready)
    assert d["status"]["availableReplicas"] == 2
    pods = await _get(http, "/api/v1/namespaces/default/pods", labelSelector="app=web")
    assert len(pods["items"]) == 2
    assert all(p["status"]["phase"] == "Running" and p["status"]["containerStatuses"][0]["ready"]
               for p in pods["items"])


async def test_crashloop_backoff_events_grow_over_http(cluster) -> None:
    _, clock, http = cluster
    body = deployment("checkout", 1, annotations={"sim.kubevigil.io/scenario": "crashloop"})
    async with http.post("/apis/apps/v1/namespaces/default/deployments", json=body) as resp:
        assert resp.status == 201, await resp.text()

    async def pod_name() -> str | None:
        pods = await _get(http, "/api/v1/namespaces/default/pods", labelSelector="app=checkout")
        return pods["items"][0]["metadata"]["name"] if pods["items"] else None

    name = await _advance_until(clock, pod_name)

    async def backoff_count() -> int:
        events = await _get(http, "/api/v1/namespaces/default/events",
                            fieldSelector=f"involvedObject.name={name}")
        return sum(e["count"] for e in events["items"] if e["reason"] == "BackOff")

    first = await _advance_until(clock, backoff_count)
    later = await _advance_until(clock, lambda: _bigger(backoff_count, first), step=5)
    assert later > first
    events = await _get(http, "/api/v1/namespaces/default/events", fieldSelector=f"involvedObject.name={name}")
    (backoff,) = [e for e in events["items"] if e["reason"] == "BackOff"]
    assert backoff["type"] == "Warning" and backoff["source"]["component"] == "kubelet"
    assert backoff["involvedObject"]["fieldPath"] == "spec.containers{app}"
    assert backoff["metadata"]["name"].startswith(f"{name}.")
    pod = await _get(http, f"/api/v1/namespaces/default/pods/{name}")
    assert pod["status"]["containerStatuses"][0]["restartCount"] >= 2


async def _bigger(fetch, than: int) -> int:
    value = await fetch()
    return value if value > than else 0
