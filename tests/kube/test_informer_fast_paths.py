"""The informer's fast paths: watch events in read-sized groups, lazy line decoding, shared strings, metrics
from plain counts, all against the emulator over plain HTTP (`Cluster(tls=False)`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from prometheus_client import CollectorRegistry, generate_latest

from kubevigil.kube import client
from kubevigil.kube.cache import share_strings
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.errors import ApiError
from kubevigil.kube.informer import Change, Informer
from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

POD = by_kind("Pod")


def pod(name: str, image: str = "registry.example/app:1.2.3") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": image}]}}


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False, tls=False, bookmark_interval=0.2, history=5000) as c:
        yield c


@pytest.fixture
async def api(cluster: Cluster, tmp_path: Path) -> AsyncIterator[KubeApi]:
    kubeconfig = cluster.write_kubeconfig(tmp_path / "kubeconfig")
    api = await connect(str(kubeconfig))
    try:
        yield api
    finally:
        await api.aclose()


def test_plain_http_cluster_writes_a_kubeconfig_without_a_ca(cluster: Cluster, tmp_path: Path) -> None:
    assert cluster.url.startswith("http://127.0.0.1:")
    doc = yaml.safe_load(cluster.write_kubeconfig(tmp_path / "kc").read_text())
    assert doc["clusters"][0]["cluster"] == {"server": cluster.url}


async def test_a_burst_arrives_complete_in_order_and_counted(cluster: Cluster, api: KubeApi) -> None:
    for i in range(20):
        cluster.store.create(POD, pod(f"p{i}"))
    registry = CollectorRegistry()
    inf = Informer(api, POD, namespace="default", registry=registry, name="pods-burst")
    seen: list[tuple[str, str, str]] = []

    async def record(change: Change) -> None:
        meta = change.obj["metadata"]
        seen.append((change.type, meta["name"], meta["resourceVersion"]))

    inf.add_handler(record)
    async with _running(inf):
        await eventually(lambda: len(seen) == 20)
        start = cluster.store.resource_version
        for k in range(1000):  # far more than one network read: many events per group
            cluster.store.touch(POD, "default", f"p{k % 20}")
        await eventually(lambda: len(seen) == 1020)
        rvs = [int(rv) for _, _, rv in seen[20:]]
        assert rvs == list(range(start + 1, start + 1001))
        assert {t for t, _, _ in seen[20:]} == {"MODIFIED"}
        cached = inf.cache.get("default", "p7")
        assert cached is not None
        assert cached["metadata"]["resourceVersion"] == \
            cluster.store.get_raw(POD, "default", "p7")["metadata"]["resourceVersion"]
        labels = {"informer": "pods-burst"}
        assert registry.get_sample_value("kubevigil_informer_events_total", {**labels, "type": "MODIFIED"}) == 1000
        assert registry.get_sample_value("kubevigil_informer_objects", labels) == 20
        assert registry.get_sample_value("kubevigil_informer_relists_total", labels) == 0
        assert (registry.get_sample_value("kubevigil_informer_last_event_timestamp_seconds", labels) or 0) > 0


async def test_initial_list_shares_repeated_strings_across_pages(cluster: Cluster, api: KubeApi) -> None:
    for i in range(7):
        cluster.store.create(POD, pod(f"p{i}"))
    inf = Informer(api, POD, namespace="default", registry=CollectorRegistry(), page_size=3)
    async with _running(inf):
        images = [o["spec"]["containers"][0]["image"] for o in inf.cache.list()]
        assert len(images) == 7 and len({id(s) for s in images}) == 1


async def test_informers_sharing_a_name_are_summed_in_one_valid_exposition(cluster: Cluster, api: KubeApi) -> None:
    cluster.store.create(POD, pod("p0"))
    registry = CollectorRegistry()
    a = Informer(api, POD, namespace="default", registry=registry, name="same")
    b = Informer(api, POD, namespace="default", registry=registry, name="same")
    async with _running(a), _running(b):
        text = generate_latest(registry).decode()
        assert text.count('kubevigil_informer_objects{informer="same"} 2.0') == 1


def test_share_strings_keeps_values_and_shares_equal_ones() -> None:
    def fresh(text: str) -> str:
        return (text + "!")[:-1]  # an equal string that is a distinct object, as a JSON decoder makes them

    table: dict[str, str] = {}
    x: dict = {"a": fresh("repeat"), "l": [fresh("repeat"), {"n": 1, "s": "other"}], "t": True}
    y = {"b": fresh("repeat")}
    assert x["a"] is not y["b"]
    expected = {"a": "repeat", "l": ["repeat", {"n": 1, "s": "other"}], "t": True}
    share_strings(x, table)
    share_strings(y, table)
    assert x == expected
    assert x["a"] is x["l"][0] is y["b"]


async def test_whole_lines_reassembles_lines_split_across_reads() -> None:
    class Resp:
        async def aiter_bytes(self) -> AsyncIterator[bytes]:
            for piece in (b'{"a":', b'1}\n{"b"', b":2}\n", b'{"c":3}\n{"d":4}\n', b'\n{"e":5}'):
                yield piece

    groups = [list(client._json_lines(d, n)) async for d, n in client._whole_lines(Resp().aiter_bytes())]
    assert [g for g in groups if g] == [[{"a": 1}], [{"b": 2}], [{"c": 3}, {"d": 4}], [{"e": 5}]]


def test_in_stream_error_is_raised_after_the_events_before_it() -> None:
    lines = (b'{"type":"MODIFIED","object":{"metadata":{"name":"a"}}}\n'
             b'{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}\n'
             b'{"type":"MODIFIED","object":{"metadata":{"name":"b"}}}\n')
    events = client._watch_events(lines + b'{"type":"ADDED"', len(lines))
    assert next(events) == ("MODIFIED", {"metadata": {"name": "a"}})
    with pytest.raises(ApiError) as err:
        next(events)
    assert err.value.status == 410


class _running:
    """Run an informer until the block ends; entering waits for its first sync."""

    def __init__(self, inf: Informer) -> None:
        self.inf = inf

    async def __aenter__(self) -> Informer:
        self.task = asyncio.create_task(self.inf.run())
        await asyncio.wait_for(self.inf.synced.wait(), timeout=10)
        return self.inf

    async def __aexit__(self, *exc: object) -> None:
        self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


def test_share_strings_leaves_an_object_deeper_than_the_recursion_limit_as_it_was() -> None:
    deep: dict = {"s": "x"}
    for _ in range(5000):
        deep = {"d": deep}
    share_strings(deep, {})  # no RecursionError: sharing is an optimisation, the object stays valid
    assert "d" in deep
