"""The informer against the emulator (kubevigil.sim) over real TLS sockets on 127.0.0.1."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry

from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.informer import Informer
from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually
from tests.kube.conftest import Run, proxied_kubeconfig
from tests.kube.tcpproxy import TcpProxy, proxy_to

POD = by_kind("Pod")
NS = by_kind("Namespace")


def pod(name: str, ns: str = "default", **labels: str) -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def touch(cluster: Cluster, ns: str, name: str, value: str) -> None:
    obj = cluster.store.get(POD, ns, name)
    obj["metadata"].setdefault("annotations", {})["touch"] = value
    cluster.store.replace(POD, obj)


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False, history=20, bookmark_interval=0.2) as c:
        for ns in ("team-a", "team-b"):
            c.store.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
        yield c


@pytest.fixture
async def proxy(cluster: Cluster) -> AsyncIterator[TcpProxy]:
    async with proxy_to(int(cluster.url.rsplit(":", 1)[1])) as p:
        yield p


@pytest.fixture
async def api(cluster: Cluster, proxy: TcpProxy, tmp_path: Path) -> AsyncIterator[KubeApi]:
    """A client that reaches the emulator through a proxy the test can cut."""
    client = await connect(str(proxied_kubeconfig(cluster, proxy, tmp_path / "kubeconfig")))
    try:
        yield client
    finally:
        await client.aclose()


def informer(api: KubeApi, **kw: object) -> Informer:
    return Informer(api, POD, registry=CollectorRegistry(), backoff_cap=0.05, **kw)  # type: ignore[arg-type]


async def watch_open(run: Run) -> None:
    """Wait for a bookmark (the emulator sends one every 0.2 s on an open watch): the watch is open now."""
    seen = run.inf.stats.events["BOOKMARK"]
    await eventually(lambda: run.inf.stats.events["BOOKMARK"] > seen)


async def sentinel(cluster: Cluster, run: Run, ns: str = "team-a", **labels: str) -> None:
    """Write one more pod and wait for it: afterwards every earlier change has been delivered."""
    cluster.store.create(POD, pod("zz-sentinel", ns, **labels))
    await eventually(lambda: ("ADDED", "zz-sentinel") in run.names())


async def test_relist_after_410_emits_exact_differences(cluster: Cluster, proxy: TcpProxy, api: KubeApi) -> None:
    for name in "abcd":
        cluster.store.create(POD, pod(name, "team-a"))
    async with Run(informer(api)) as run:
        assert sorted(run.names()) == [("ADDED", n) for n in "abcd"]
        run.seen.clear()
        proxy.sever()  # the watch is down while history (20 versions) moves past its resourceVersion
        touch(cluster, "team-a", "a", "1")
        cluster.store.delete(POD, "team-a", "b")
        cluster.store.create(POD, pod("e", "team-a"))
        for i in range(40):
            touch(cluster, "team-a", "e", str(i))
        proxy.restore()
        await eventually(lambda: len(run.seen) >= 3)
        await sentinel(cluster, run)
        assert sorted(run.names()[:-1]) == [("ADDED", "e"), ("DELETED", "b"), ("MODIFIED", "a")]
        assert run.inf.stats.relists == 1
        assert sorted(n for _, n in run.inf.cache.keys()) == ["a", "c", "d", "e", "zz-sentinel"]


async def test_resume_after_killed_connection_no_duplicate_no_miss(cluster: Cluster, proxy: TcpProxy,
                                                                   api: KubeApi) -> None:
    cluster.store.create(POD, pod("a", "team-a"))
    async with Run(informer(api)) as run:
        for round_ in range(3):
            await watch_open(run)
            proxy.drop()  # kill the open watch connection mid-stream
            touch(cluster, "team-a", "a", f"r{round_}")
            cluster.store.create(POD, pod(f"p{round_}", "team-a"))
        await sentinel(cluster, run)
        assert run.names() == [("ADDED", "a"), ("MODIFIED", "a"), ("ADDED", "p0"), ("MODIFIED", "a"),
                               ("ADDED", "p1"), ("MODIFIED", "a"), ("ADDED", "p2"), ("ADDED", "zz-sentinel")]
        assert run.inf.stats.relists == 0  # resumed from the last RV, no relist
        assert run.inf.stats.watch_restarts >= 3


async def test_label_selector_and_one_namespace(cluster: Cluster, api: KubeApi) -> None:
    cluster.store.create(POD, pod("web-a", "team-a", app="web"))
    cluster.store.create(POD, pod("db-a", "team-a", app="db"))
    cluster.store.create(POD, pod("web-b", "team-b", app="web"))
    async with Run(informer(api, namespace="team-a", label_selector="app in (web)")) as run:
        assert run.names() == [("ADDED", "web-a")]
        cluster.store.create(POD, pod("web-a2", "team-a", app="web"))
        cluster.store.create(POD, pod("web-b2", "team-b", app="web"))
        cluster.store.create(POD, pod("db-a2", "team-a", app="db"))
        await sentinel(cluster, run, app="web")
        assert run.names() == [("ADDED", "web-a"), ("ADDED", "web-a2"), ("ADDED", "zz-sentinel")]


async def test_field_selector_across_all_namespaces(cluster: Cluster, api: KubeApi) -> None:
    cluster.store.create(POD, pod("x", "team-a"))
    cluster.store.create(POD, pod("x", "team-b"))
    cluster.store.create(POD, pod("y", "team-b"))
    async with Run(informer(api, field_selector="metadata.name=x")) as run:
        assert sorted(run.inf.cache.keys()) == [("team-a", "x"), ("team-b", "x")]
        assert [o["metadata"]["namespace"] for o in run.inf.cache.list("team-b")] == ["team-b"]
        cluster.store.delete(POD, "team-b", "x")
        await eventually(lambda: ("DELETED", "x") in run.names())
        assert sorted(run.inf.cache.keys()) == [("team-a", "x")]


async def test_bookmarks_advance_resource_version_without_handler_calls(cluster: Cluster, api: KubeApi) -> None:
    async with Run(informer(api, label_selector="app=none")) as run:
        start_rv = int(run.inf.resource_version)
        for i in range(5):
            cluster.store.create(POD, pod(f"other-{i}", "team-a", app="other"))
        latest = int(cluster.store.get(POD, "team-a", "other-4")["metadata"]["resourceVersion"])
        await eventually(lambda: int(run.inf.resource_version) >= latest)
        assert int(run.inf.resource_version) > start_rv
        assert run.seen == []
        assert run.inf.stats.events["BOOKMARK"] >= 1


async def test_watch_failing_for_grows_while_the_server_is_unreachable_and_resets(
    cluster: Cluster, proxy: TcpProxy, api: KubeApi
) -> None:
    async with Run(informer(api)) as run:
        assert run.inf.watch_failing_for() == 0.0
        proxy.sever()  # cut the stream and refuse new connections
        await eventually(lambda: run.inf.watch_failing_for() > 0.3)
        proxy.restore()
        await sentinel(cluster, run)
        await eventually(lambda: run.inf.watch_failing_for() == 0.0)


async def test_cache_view_keeps_only_the_view_and_handlers_get_whole_objects(cluster: Cluster, api: KubeApi) -> None:
    def identity(obj: dict) -> dict:
        return {"metadata": {k: obj["metadata"][k] for k in ("name", "namespace", "uid", "resourceVersion")}}

    cluster.store.create(POD, pod("listed"))
    async with Run(informer(api, cache_view=identity)) as run:
        cluster.store.create(POD, pod("watched"))
        await eventually(lambda: ("ADDED", "watched") in run.names())
        assert all("spec" in c.obj for c in run.seen)
        for name in ("listed", "watched"):
            cached = run.inf.cache.get("default", name)
            assert cached is not None and set(cached) == {"metadata"}
        touch(cluster, "default", "watched", "v2")
        await eventually(lambda: ("MODIFIED", "watched") in run.names())
        modified = run.seen[-1]
        assert "spec" in modified.obj and set(modified.old or {}) == {"metadata"}
