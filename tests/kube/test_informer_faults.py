"""Informer behaviour under faults the emulator does not produce on demand (5xx, in-stream 410), on real sockets."""

from __future__ import annotations

import asyncio
import random

from prometheus_client import CollectorRegistry

from kubevigil.kube.client import KubeApi
from kubevigil.kube.informer import Change, Informer
from kubevigil.kube.resources import by_kind
from tests.conditions import eventually
from tests.kube.fakeapi import FakeApi

POD = by_kind("Pod")


def pod(name: str, ns: str = "default", **labels: str) -> dict:
    return {"metadata": {"name": name, "namespace": ns, "labels": labels}, "spec": {}}


async def started(api: KubeApi, **kw: object) -> tuple[Informer, list[Change], asyncio.Task[None]]:
    reg = CollectorRegistry()
    inf = Informer(api, POD, registry=reg, rng=random.Random(1), **kw)  # type: ignore[arg-type]
    seen: list[Change] = []

    async def record(change: Change) -> None:
        seen.append(change)

    inf.add_handler(record)
    task = asyncio.create_task(inf.run())
    await asyncio.wait_for(inf.synced.wait(), 10)
    return inf, seen, task


async def stop(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_list_then_watch_delivers_each_change_once(fake: FakeApi, fake_api: KubeApi) -> None:
    await fake.write(POD, pod("a"))
    inf, seen, task = await started(fake_api)
    assert [(c.type, c.obj["metadata"]["name"]) for c in seen] == [("ADDED", "a")]
    assert seen[0].obj["kind"] == "Pod"  # list items get their kind back
    await fake.write(POD, pod("b"))
    await fake.write(POD, pod("a"))
    await fake.delete(POD, "default", "b")
    await eventually(lambda: len(seen) == 4)
    assert [(c.type, c.obj["metadata"]["name"]) for c in seen[1:]] == [
        ("ADDED", "b"), ("MODIFIED", "a"), ("DELETED", "b")]
    assert seen[2].old is not None and seen[2].old["metadata"]["resourceVersion"] != seen[2].obj["metadata"]["resourceVersion"]
    assert len(inf.cache) == 1 and inf.cache.get("default", "a") is not None
    uid = inf.cache.get("default", "a")["metadata"]["uid"]  # type: ignore[index]
    assert inf.cache.by_uid(uid) is inf.cache.get("default", "a")
    await stop(task)


async def test_5xx_on_watch_resumes_with_backoff_and_no_duplicates(fake: FakeApi, fake_api: KubeApi) -> None:
    await fake.write(POD, pod("a"))
    fake.fail_next = [500, 503]
    inf, seen, task = await started(fake_api)
    await fake.write(POD, pod("b"))
    await eventually(lambda: len(seen) == 2)
    assert fake.list_requests == 1
    restarts = inf.stats.watch_restarts
    assert restarts == 2
    await stop(task)


async def test_in_stream_410_relists_and_emits_only_differences(fake: FakeApi, fake_api: KubeApi) -> None:
    fake.history = 3
    for name in "abcd":
        await fake.write(POD, pod(name))
    inf, seen, task = await started(fake_api)
    seen.clear()
    inf.backoff_cap = 0.02
    fake.fail_next = [503] * 1000  # keep the informer out while history moves past its resourceVersion
    await fake.kick()
    await eventually(lambda: fake.watch_requests >= 3)
    await fake.write(POD, pod("a"))
    await fake.delete(POD, "default", "b")
    for _ in range(6):
        await fake.write(POD, pod("e"))
    fake.fail_next.clear()
    await eventually(lambda: fake.list_requests == 2)
    await fake.write(POD, pod("z"))  # a sentinel: once it arrives, every earlier change has been delivered
    await eventually(lambda: any(c.obj["metadata"]["name"] == "z" for c in seen))
    assert sorted((c.type, c.obj["metadata"]["name"]) for c in seen[:-1]) == [
        ("ADDED", "e"), ("DELETED", "b"), ("MODIFIED", "a")]
    assert inf.stats.relists == 1
    assert sorted(n for _, n in inf.cache.keys()) == ["a", "c", "d", "e", "z"]
    await stop(task)
