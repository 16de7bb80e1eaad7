"""Two LeaderElectors on one Lease over real sockets: exactly one leads, the other takes over."""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.leader import LEASE, LeaderElector
from tests.conditions import eventually
from tests.kube.conftest import write_kubeconfig
from tests.kube.fakeapi import FakeApi
from tests.kube.tcpproxy import TcpProxy, proxy_to

TIMING = {"lease_duration": 2.0, "renew_deadline": 1.0, "retry_period": 0.2}


@pytest.fixture
async def proxy(fake: FakeApi) -> AsyncIterator[TcpProxy]:
    async with proxy_to(fake.port) as p:
        yield p


@pytest.fixture
async def two_apis(fake: FakeApi, proxy: TcpProxy, tmp_path: Path) -> AsyncIterator[tuple[KubeApi, KubeApi]]:
    """The first client goes through a proxy the test can sever; the second talks to the server directly."""
    a = await connect(str(write_kubeconfig(tmp_path / "kc-a", proxy.url, {"token": fake.token})))
    b = await connect(str(write_kubeconfig(tmp_path / "kc-b", fake.url, {"token": fake.token})))
    try:
        yield a, b
    finally:
        await a.aclose()
        await b.aclose()


class Sampler:
    """Samples both electors often and records any moment where both (or, after start, neither) lead."""

    def __init__(self, *electors: LeaderElector) -> None:
        self.electors = electors
        self.both = 0
        self.samples = 0

    async def run(self) -> None:
        while True:
            self.samples += 1
            if sum(e.is_leader for e in self.electors) > 1:
                self.both += 1
            await asyncio.sleep(0.005)


def leading_work(running: dict[str, int], name: str):  # type: ignore[no-untyped-def]
    async def work() -> None:
        running[name] = running.get(name, 0) + 1
        try:
            await asyncio.Event().wait()
        finally:
            running[name] -= 1
    return work


async def test_exactly_one_leads_and_the_other_takes_over_on_release(two_apis: tuple[KubeApi, KubeApi],
                                                                      fake: FakeApi) -> None:
    reg = CollectorRegistry()
    a = LeaderElector(two_apis[0], "default", "lock", "pod-a", registry=reg, rng=random.Random(1), **TIMING)
    b = LeaderElector(two_apis[1], "default", "lock", "pod-b", registry=reg, rng=random.Random(2), **TIMING)
    running: dict[str, int] = {}
    sampler = Sampler(a, b)
    tasks = {e.identity: asyncio.create_task(e.run(leading_work(running, e.identity))) for e in (a, b)}
    sample_task = asyncio.create_task(sampler.run())
    await eventually(lambda: a.is_leader or b.is_leader)
    leader, other = (a, b) if a.is_leader else (b, a)
    assert reg.get_sample_value("kubevigil_leader", {"lease": "default/lock"}) == 1
    await eventually(lambda: sampler.samples > 100)  # both campaign for a while: the other never leads
    assert not other.is_leader and running.get(leader.identity) == 1
    stopped_at = time.monotonic()
    tasks[leader.identity].cancel()
    await asyncio.gather(tasks[leader.identity], return_exceptions=True)
    assert running[leader.identity] == 0  # fn was cancelled and awaited
    await eventually(lambda: other.is_leader, timeout=TIMING["lease_duration"])
    assert time.monotonic() - stopped_at < TIMING["lease_duration"]
    lease = fake.objects[(LEASE.plural, "default", "lock")]
    assert lease["spec"]["holderIdentity"] == other.identity
    assert lease["spec"]["leaseTransitions"] == 1  # as client-go: any change of holder counts
    sample_task.cancel()
    tasks[other.identity].cancel()
    await asyncio.gather(sample_task, tasks[other.identity], return_exceptions=True)
    assert sampler.both == 0


async def test_leader_that_cannot_renew_steps_down_and_other_takes_over(two_apis: tuple[KubeApi, KubeApi],
                                                                         fake: FakeApi, proxy: TcpProxy) -> None:
    reg = CollectorRegistry()
    a = LeaderElector(two_apis[0], "default", "lock", "pod-a", registry=reg, **TIMING)
    running: dict[str, int] = {}
    task_a = asyncio.create_task(a.run(leading_work(running, "pod-a")))
    await eventually(lambda: a.is_leader)
    b = LeaderElector(two_apis[1], "default", "lock", "pod-b", registry=reg, **TIMING)
    task_b = asyncio.create_task(b.run(leading_work(running, "pod-b")))
    sampler = Sampler(a, b)
    sample_task = asyncio.create_task(sampler.run())
    await eventually(lambda: sampler.samples > 50)
    proxy.sever()  # pod-a is cut off from the API server
    await eventually(lambda: not a.is_leader, timeout=3)
    assert running["pod-a"] == 0  # stepped down, fn cancelled, but run() goes on campaigning
    assert not task_a.done()
    await eventually(lambda: b.is_leader, timeout=TIMING["lease_duration"] + 1)
    lease = fake.objects[(LEASE.plural, "default", "lock")]
    assert lease["spec"]["holderIdentity"] == "pod-b" and lease["spec"]["leaseTransitions"] == 1
    for t in (sample_task, task_a, task_b):
        t.cancel()
    await asyncio.gather(sample_task, task_a, task_b, return_exceptions=True)
    assert sampler.both == 0


async def test_two_electors_on_the_emulator(tmp_path: Path) -> None:
    from kubevigil.sim.cluster import Cluster

    async with Cluster(workloads=False) as cluster:
        cfg = str(cluster.write_kubeconfig(tmp_path / "kc"))
        apis = [await connect(cfg), await connect(cfg)]
        reg = CollectorRegistry()
        electors = [LeaderElector(api, "default", "kv", f"pod-{i}", registry=reg, **TIMING)
                    for i, api in enumerate(apis)]
        running: dict[str, int] = {}
        tasks = [asyncio.create_task(e.run(leading_work(running, e.identity))) for e in electors]
        sampler = Sampler(*electors)
        sample_task = asyncio.create_task(sampler.run())
        await eventually(lambda: any(e.is_leader for e in electors))
        first = 0 if electors[0].is_leader else 1
        await eventually(lambda: sampler.samples > 100)
        tasks[first].cancel()
        await asyncio.gather(tasks[first], return_exceptions=True)
        await eventually(lambda: electors[1 - first].is_leader, timeout=TIMING["lease_duration"])
        lease = cluster.store.get(LEASE, "default", "kv")
        assert lease["spec"]["holderIdentity"] == f"pod-{1 - first}"
        sample_task.cancel()
        tasks[1 - first].cancel()
        await asyncio.gather(sample_task, tasks[1 - first], return_exceptions=True)
        assert sampler.both == 0
        for api in apis:
            await api.aclose()
