"""The informer factory against the emulator: roles that watch the same objects share one list+watch and one
cache; a late subscriber gets the cache once, then the changes; the last one to leave stops the watch."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog
from prometheus_client import CollectorRegistry

from kubevigil.core.clock import SystemClock
from kubevigil.kube.client import KubeApi, connect
from kubevigil.kube.factory import InformerFactory
from kubevigil.kube.informer import Change
from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from tests.conditions import eventually

POD = by_kind("Pod")


def pod(name: str, ns: str = "default", **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def slim(obj: dict[str, Any]) -> dict[str, Any]:
    """A cache view: identity only."""
    meta = obj["metadata"]
    return {"metadata": {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion")}}


class Seen:
    def __init__(self) -> None:
        self.changes: list[tuple[str, str]] = []

    async def __call__(self, change: Change) -> None:
        self.changes.append((change.type, change.obj["metadata"]["name"]))


@pytest.fixture
async def cluster() -> AsyncIterator[Cluster]:
    async with Cluster(workloads=False, bookmark_interval=0.2) as c:
        yield c


@pytest.fixture
async def api(cluster: Cluster, tmp_path: Path) -> AsyncIterator[KubeApi]:
    client = await connect(str(cluster.write_kubeconfig(tmp_path / "kubeconfig")))
    yield client
    await client.aclose()


@pytest.fixture
def lists(api: KubeApi, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The plural of every list the client makes (each informer start lists once)."""
    made: list[str] = []
    original: Callable[..., Any] = api.list_pages

    def counting(res: Any, *args: Any, **kwargs: Any) -> Any:
        made.append(res.plural)
        return original(res, *args, **kwargs)

    monkeypatch.setattr(api, "list_pages", counting)
    return made


async def test_two_subscribers_share_one_watch_and_the_late_one_gets_the_cache_once(
        cluster: Cluster, api: KubeApi, lists: list[str]) -> None:
    factory = InformerFactory(api, clock=SystemClock(), registry=CollectorRegistry())
    for name in ("a", "b"):
        cluster.store.create(POD, pod(name, app="web"))
    first, second = Seen(), Seen()
    one = await factory.subscribe(POD, first, label_selector="app=web", name="first")
    await eventually(lambda: one.informer.synced.is_set())
    two = await factory.subscribe(POD, second, label_selector="app=web", name="second")
    assert two.informer is one.informer and one.informer.name == "first"
    assert sorted(second.changes) == [("ADDED", "a"), ("ADDED", "b")]  # the replay: each cached object once
    cluster.store.create(POD, pod("c", app="web"))
    await eventually(lambda: ("ADDED", "c") in first.changes and ("ADDED", "c") in second.changes)
    assert second.changes.count(("ADDED", "c")) == 1 and lists == ["pods"]
    ((key, informer, subscribers),) = factory.informers()
    assert subscribers == 2 and key.describe() == "pods@*{app=web}"

    await one.close()
    cluster.store.delete(POD, "default", "a")
    await eventually(lambda: ("DELETED", "a") in second.changes)
    assert ("DELETED", "a") not in first.changes  # closed: no change after close()
    await two.close()
    assert factory.informers() == []
    three = await factory.subscribe(POD, Seen(), label_selector="app=web")
    await eventually(lambda: three.informer.synced.is_set())
    assert three.informer is not informer and lists == ["pods", "pods"]  # started again, with a fresh list
    await factory.aclose()


async def test_other_selectors_or_views_get_their_own_informer(cluster: Cluster, api: KubeApi) -> None:
    factory = InformerFactory(api, clock=SystemClock(), registry=CollectorRegistry())
    whole = await factory.subscribe(POD, contact_every=30)
    web = await factory.subscribe(POD, label_selector="app=web")
    kube_system = await factory.subscribe(POD, namespace="kube-system")
    viewed = await factory.subscribe(POD, view=slim)
    again = await factory.subscribe(POD, contact_every=5)
    assert len({id(s.informer) for s in (whole, web, kube_system, viewed)}) == 4
    assert again.informer is whole.informer and whole.informer.contact_every == 5  # the tightest bound wins
    await factory.aclose()
    assert factory.informers() == []


async def test_a_failing_handler_is_counted_and_logged_once_and_the_others_still_run(
        cluster: Cluster, api: KubeApi) -> None:
    registry = CollectorRegistry()
    factory = InformerFactory(api, clock=SystemClock(), registry=registry)
    good = Seen()

    async def broken(change: Change) -> None:
        raise ValueError(f"cannot handle {change.obj['metadata']['name']}")

    with structlog.testing.capture_logs() as logs:
        bad = await factory.subscribe(POD, broken, name="pods-test")
        await factory.subscribe(POD, good, name="pods-test")
        for i in range(5):
            cluster.store.create(POD, pod(f"p{i}"))
        await eventually(lambda: len(good.changes) == 5)

        def errors() -> float:
            return registry.get_sample_value("kubevigil_informer_handler_errors_total",
                                             {"informer": "pods-test"}) or 0.0

        await eventually(lambda: errors() == 5)
    failures = [e for e in logs if e["log_level"] == "error"]
    assert len(failures) == 1, failures  # the first in full; the next summary is due a minute later
    assert failures[0]["informer"] == "pods-test" and failures[0]["object"] == "default/p0"
    assert bad.informer.stats.handler_errors == 5
    await factory.aclose()
