"""How stale an informer knows itself to be, and how it finds out its server's store went back in time."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.informer import Informer, freshness
from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually
from tests.kube.conftest import Run, proxied_kubeconfig
from tests.kube.fakeapi import FakeApi
from tests.kube.tcpproxy import TcpProxy, proxy_to

POD = by_kind("Pod")


def pod(name: str, ns: str = "default") -> dict:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": {}},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def cached_names(inf: Informer) -> list[str]:
    return sorted(obj["metadata"]["name"] for obj in inf.cache)


def informer(api: KubeApi, registry: CollectorRegistry | None = None, **kw: object) -> Informer:
    return Informer(api, POD, registry=registry or CollectorRegistry(), backoff_cap=0.05, rng=random.Random(1),
                    **kw)  # type: ignore[arg-type]


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False, bookmark_interval=0.2) as c:
        yield c


@pytest.fixture
async def proxy(cluster: Cluster) -> AsyncIterator[TcpProxy]:
    async with proxy_to(int(cluster.url.rsplit(":", 1)[1])) as p:
        yield p


async def proxied_api(cluster: Cluster, proxy: TcpProxy, path: Path) -> KubeApi:
    return await connect(str(proxied_kubeconfig(cluster, proxy, path)))


async def test_staleness_grows_while_the_server_is_gone_and_readiness_says_why(
        cluster: Cluster, proxy: TcpProxy, tmp_path: Path) -> None:
    api = await proxied_api(cluster, proxy, tmp_path / "kubeconfig")
    registry = CollectorRegistry()
    try:
        async with Run(informer(api, registry)) as run:
            await eventually(lambda: run.inf.stats.events["BOOKMARK"] >= 2)
            assert run.inf.stale_for() < 1.0  # bookmarks every 0.2 s are contact
            assert freshness([run.inf], 1.0).ok
            proxy.sever()
            await eventually(lambda: run.inf.stale_for() > 1.0 and run.inf.failing)
            ready = freshness([run.inf], 1.0)
            assert not ready.ok
            assert f"has not heard from {api.server}" in ready.detail and "the watch has been failing" in ready.detail
            labels = {"informer": run.inf.name}
            assert (registry.get_sample_value("kubevigil_informer_stale_seconds", labels) or 0) > 1.0
            assert registry.get_sample_value("kubevigil_informer_failing", labels) == 1.0
            proxy.restore()
            await eventually(lambda: freshness([run.inf], 1.0).ok, timeout=20)
            assert registry.get_sample_value("kubevigil_informer_failing", labels) == 0.0
    finally:
        await api.aclose()


async def test_a_quiet_watch_without_bookmarks_stays_fresh_by_asking_again(fake: FakeApi, fake_api: KubeApi) -> None:
    await fake.write(POD, pod("a"))
    async with Run(informer(fake_api, contact_every=0.2)) as run:
        ages: list[float] = []

        def sampled() -> bool:
            ages.append(run.inf.stale_for())
            return fake.watch_requests >= 6

        await eventually(sampled, timeout=20)
        assert max(ages) < 1.0  # never a bookmark, yet never stale: each new watch request is contact
        assert fake.list_requests == 1 and run.inf.stats.relists == 0  # asking again resumes, it does not relist
        await fake.write(POD, pod("b"))
        await eventually(lambda: ("ADDED", "b") in run.names())


async def test_a_restored_store_that_answers_with_silence_is_relisted(fake: FakeApi, fake_api: KubeApi) -> None:
    for name in ("kept", "changed"):
        await fake.write(POD, pod(name))
    backup = fake.snapshot()
    fake.bookmark_interval = 0.1
    async with Run(informer(fake_api, contact_every=0.2, relist_after_silence=1.0)) as run:
        await fake.write(POD, pod("created-after-backup"))
        await eventually(lambda: ("ADDED", "created-after-backup") in run.names())
        run.seen.clear()
        with capture_logs() as logs:
            await fake.restore(backup)  # resourceVersions go back; the informer's is now in the server's future
            await fake.write(POD, pod("changed"))
            await fake.write(POD, pod("new-in-restored"))
            await eventually(lambda: run.inf.stats.relists == 1, timeout=20)
        assert sorted(run.names()) == [("ADDED", "new-in-restored"), ("DELETED", "created-after-backup"),
                                       ("MODIFIED", "changed")]
        assert cached_names(run.inf) == ["changed", "kept", "new-in-restored"]
        assert any(e["event"].startswith("informer relisting: no event or bookmark") and e["log_level"] == "warning"
                   for e in logs)
        await fake.write(POD, pod("after"))  # and it follows the restored store from then on
        await eventually(lambda: ("ADDED", "after") in run.names())


async def test_too_large_resource_version_relists_at_once(fake: FakeApi, fake_api: KubeApi) -> None:
    await fake.write(POD, pod("kept"))
    backup = fake.snapshot()
    fake.rv_too_large_error = True
    async with Run(informer(fake_api)) as run:
        await fake.write(POD, pod("gone"))
        await eventually(lambda: ("ADDED", "gone") in run.names())
        with capture_logs() as logs:
            await fake.restore(backup)
            await eventually(lambda: ("DELETED", "gone") in run.names())
        assert run.inf.stats.relists == 1
        warning = next(e for e in logs if e["event"].startswith("informer relisting: the server does not have"))
        assert warning["log_level"] == "warning" and "ResourceVersionTooLarge" not in warning["error"]
        assert "Too large resource version" in warning["error"] and warning["server"] == fake.url


async def test_after_the_server_was_unreachable_a_store_with_older_versions_is_relisted(tmp_path: Path) -> None:
    """Two emulators behind one address: the newer one goes away, the older (a restore) answers instead."""
    async with Cluster(workloads=False, token="t", bookmark_interval=0.2) as newer, \
            Cluster(workloads=False, token="t", bookmark_interval=0.2) as older:
        older.store.create(POD, pod("only-in-older"))
        for name in ("both", "only-in-newer"):
            newer.store.create(POD, pod(name))
        for _ in range(30):  # the newer store's resourceVersion runs well ahead
            newer.store.touch(POD, "default", "both")
        older.store.create(POD, pod("both"))
        async with proxy_to(int(newer.url.rsplit(":", 1)[1])) as proxy:
            api = await proxied_api(newer, proxy, tmp_path / "kubeconfig")
            async with Run(informer(api)) as run:
                run.seen.clear()
                proxy.sever()
                # Until an attempt finds nobody answering (not just a dead pooled connection): then it is an outage.
                await eventually(lambda: run.inf.last_error.startswith(("cannot connect", "TLS")))
                proxy.target_port = int(older.url.rsplit(":", 1)[1])
                proxy.restore()
                await eventually(lambda: run.inf.stats.relists == 1 and not run.inf.failing, timeout=20)
                # "both" is another object in the older store (another uid): it is replaced, not modified
                assert sorted(run.names()) == [("ADDED", "both"), ("ADDED", "only-in-older"), ("DELETED", "both"),
                                               ("DELETED", "only-in-newer")]
                assert cached_names(run.inf) == ["both", "only-in-older"]
                older.store.create(POD, pod("later"))
                await eventually(lambda: ("ADDED", "later") in run.names())
            await api.aclose()


async def test_failures_log_once_then_summaries_then_recovery(cluster: Cluster, proxy: TcpProxy,
                                                              tmp_path: Path) -> None:
    api = await proxied_api(cluster, proxy, tmp_path / "kubeconfig")
    try:
        async with Run(informer(api, summary_every=0.3)) as run:
            with capture_logs() as logs:
                proxy.sever()
                await eventually(lambda: any(e["event"] == "informer still failing" for e in logs), timeout=20)
                proxy.restore()
                await eventually(lambda: any(e["event"] == "informer recovered" for e in logs), timeout=20)
            first = [e for e in logs if e["event"] == "informer cannot list/watch"]
            assert len(first) == 1 and first[0]["log_level"] == "warning"
            assert first[0]["server"] == api.server and first[0]["error"]
            summaries = [e for e in logs if e["event"] == "informer still failing"]
            assert len(summaries) < run.inf.stats.watch_restarts  # bounded: not one line per attempt
            recovered = next(e for e in logs if e["event"] == "informer recovered")
            assert recovered["log_level"] == "info" and recovered["failed_attempts"] >= 1
    finally:
        await api.aclose()
