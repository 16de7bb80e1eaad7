"""API semantics over real sockets: concurrency, watch window, bookmarks, paging, selectors, status, GC, errors."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster
from kubevigil.sim.store import ApiStatusError
from tests.conditions import eventually

PODS = "/api/v1/namespaces/default/pods"
DEPLOYS = "/apis/apps/v1/namespaces/default/deployments"


def pod(name: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


def deployment(name: str) -> dict[str, Any]:
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


async def read_events(resp: aiohttp.ClientResponse, count: int) -> list[dict[str, Any]]:
    out = []
    while len(out) < count:
        line = await asyncio.wait_for(resp.content.readline(), timeout=10)
        assert line, "watch stream ended early"
        out.append(json.loads(line))
    return out


async def test_unauthorized_without_token(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    async with http.get(PODS, headers={"Authorization": "Bearer wrong"}) as resp:
        assert resp.status == 401
        assert (await resp.json())["reason"] == "Unauthorized"


async def test_not_found_and_invalid_have_status_shape(http: aiohttp.ClientSession) -> None:
    async with http.get(f"{PODS}/nope") as resp:
        assert resp.status == 404
        assert await resp.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                                     "message": 'pods "nope" not found', "reason": "NotFound", "code": 404,
                                     "details": {"name": "nope", "group": "", "kind": "pods"}}
    async with http.post(PODS, json={"metadata": {"name": "bad"}, "spec": {}}) as resp:
        body = await resp.json()
        assert resp.status == 422 and body["reason"] == "Invalid"
        assert body["details"]["causes"][0]["field"] == "spec.containers"
    bad = deployment("d")
    del bad["spec"]["selector"]
    async with http.post(DEPLOYS, json=bad) as resp:
        assert resp.status == 422 and "spec.selector" in (await resp.json())["message"]
    async with http.post(PODS, json=pod("a")) as resp:
        assert resp.status == 201
    async with http.post(PODS, json=pod("a")) as resp:
        assert resp.status == 409 and (await resp.json())["reason"] == "AlreadyExists"
    async with http.post("/api/v1/namespaces/missing/pods", json=pod("a")) as resp:
        assert resp.status == 404 and (await resp.json())["message"] == 'namespaces "missing" not found'


async def test_generate_name_uid_and_stale_resource_version(http: aiohttp.ClientSession) -> None:
    body = pod("")
    body["metadata"] = {"generateName": "web-"}
    async with http.post(PODS, json=body) as resp:
        created = await resp.json()
    meta = created["metadata"]
    assert meta["name"].startswith("web-") and len(meta["name"]) == 9 and meta["uid"] and meta["creationTimestamp"]
    created["metadata"]["labels"] = {"v": "1"}
    async with http.put(f"{PODS}/{meta['name']}", json=created) as resp:
        assert resp.status == 200
        updated = await resp.json()
    assert int(updated["metadata"]["resourceVersion"]) > int(meta["resourceVersion"])
    created["metadata"]["labels"] = {"v": "2"}  # still carries the old resourceVersion
    async with http.put(f"{PODS}/{meta['name']}", json=created) as resp:
        assert resp.status == 409 and (await resp.json())["reason"] == "Conflict"


async def test_status_subresource_and_generation(http: aiohttp.ClientSession) -> None:
    async with http.post(DEPLOYS, json={**deployment("d"), "status": {"replicas": 9}}) as resp:
        d = await resp.json()
    assert "status" not in d and d["metadata"]["generation"] == 1
    d["status"] = {"readyReplicas": 1}
    async with http.put(f"{DEPLOYS}/d/status", json={**d, "spec": {**d["spec"], "replicas": 5}}) as resp:
        s = await resp.json()
    assert s["status"] == {"readyReplicas": 1} and s["spec"]["replicas"] == 1 and s["metadata"]["generation"] == 1
    async with http.patch(f"{DEPLOYS}/d", json={"spec": {"replicas": 3}, "status": {"readyReplicas": 7}},
                          headers={"Content-Type": "application/merge-patch+json"}) as resp:
        p = await resp.json()
    assert p["spec"]["replicas"] == 3 and p["status"] == {"readyReplicas": 1} and p["metadata"]["generation"] == 2
    async with http.patch(f"{DEPLOYS}/d", json={"metadata": {"labels": {"a": "b"}}},
                          headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert (await resp.json())["metadata"]["generation"] == 2  # metadata changes do not bump generation
    async with http.patch(f"{DEPLOYS}/d/status", json={"status": {"readyReplicas": 3}},
                          headers={"Content-Type": "application/merge-patch+json"}) as resp:
        p = await resp.json()
    assert p["status"]["readyReplicas"] == 3 and p["metadata"]["generation"] == 2


async def test_dry_run_all_does_not_persist(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    rv = cluster.store.resource_version
    async with http.post(f"{PODS}?dryRun=All", json=pod("dry")) as resp:
        assert resp.status == 201 and (await resp.json())["metadata"]["name"] == "dry"
    assert cluster.store.try_get(by_kind("Pod"), "default", "dry") is None
    cluster.store.create(by_kind("Pod"), pod("real"))
    async with http.delete(f"{PODS}/real?dryRun=All") as resp:
        assert resp.status == 200
    async with http.patch(f"{PODS}/real?dryRun=All", json={"metadata": {"labels": {"x": "y"}}},
                          headers={"Content-Type": "application/merge-patch+json"}) as resp:
        assert (await resp.json())["metadata"]["labels"] == {"x": "y"}
    assert cluster.store.get(by_kind("Pod"), "default", "real")["metadata"]["labels"] == {}
    assert cluster.store.resource_version == rv + 1


@pytest.mark.parametrize(("selector", "expected"), [
    ("app=a", ["p1", "p2"]), ("app==a", ["p1", "p2"]), ("app!=a", ["p3", "p4"]),
    ("app in (a,b)", ["p1", "p2", "p3"]), ("app notin (a)", ["p3", "p4"]), ("tier", ["p2"]),
    ("!tier", ["p1", "p3", "p4"]), ("app=a,tier=web", ["p2"]),
])
async def test_label_selectors(cluster: Cluster, http: aiohttp.ClientSession, selector: str,
                               expected: list[str]) -> None:
    for name, labels in [("p1", {"app": "a"}), ("p2", {"app": "a", "tier": "web"}), ("p3", {"app": "b"}),
                         ("p4", {})]:
        cluster.store.create(by_kind("Pod"), pod(name, **labels))
    async with http.get(PODS, params={"labelSelector": selector}) as resp:
        assert [i["metadata"]["name"] for i in (await resp.json())["items"]] == expected


async def test_field_selectors_and_bad_selectors(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    res = by_kind("Pod")
    for name, node in [("p1", "n1"), ("p2", "n2")]:
        cluster.store.create(res, {**pod(name), "spec": {**pod(name)["spec"], "nodeName": node}})
    async with http.get("/api/v1/pods", params={"fieldSelector": "spec.nodeName=n2,metadata.namespace=default"}) as r:
        assert [i["metadata"]["name"] for i in (await r.json())["items"]] == ["p2"]
    async with http.get(PODS, params={"fieldSelector": "status.phase!=Pending"}) as r:
        assert (await r.json())["items"] == []
    async with http.get(PODS, params={"labelSelector": "a in (b"}) as r:
        assert r.status == 400
    async with http.get(PODS, params={"fieldSelector": "spec.image=x"}) as r:
        assert r.status == 400 and (await r.json())["message"] == "field label not supported: spec.image"


async def test_paging_with_limit_and_continue(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    for i in range(7):
        cluster.store.create(by_kind("Pod"), pod(f"p{i}"))
    names, token, pages = [], None, 0
    while True:
        params = {"limit": "3", **({"continue": token} if token else {})}
        async with http.get(PODS, params=params) as resp:
            body = await resp.json()
        pages += 1
        names += [i["metadata"]["name"] for i in body["items"]]
        assert body["metadata"]["resourceVersion"]
        token = body["metadata"].get("continue")
        if not token:
            break
        assert body["metadata"]["remainingItemCount"] == 7 - len(names)
    assert names == [f"p{i}" for i in range(7)] and pages == 3


async def test_watch_from_resource_version_and_expired(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    res = by_kind("ConfigMap")
    start = cluster.store.resource_version
    for i in range(3):
        cluster.store.create(res, {"metadata": {"name": f"c{i}"}, "data": {"i": str(i)}})
    async with http.get("/api/v1/namespaces/default/configmaps",
                        params={"watch": "1", "resourceVersion": str(start)}) as resp:
        events = await read_events(resp, 3)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", f"c{i}") for i in range(3)]
    for i in range(cluster.store.history + 5):
        cluster.store.patch(res, "default", "c0", "application/merge-patch+json", {"data": {"i": str(i)}})
    async with http.get("/api/v1/namespaces/default/configmaps",
                        params={"watch": "1", "resourceVersion": str(start)}) as resp:
        assert resp.status == 410
        assert (await resp.json())["reason"] == "Expired"


async def test_watch_overrun_sends_in_stream_error(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    res = by_kind("ConfigMap")
    cluster.store.create(res, {"metadata": {"name": "c"}, "data": {}})
    rv = str(cluster.store.resource_version)
    async with http.get("/api/v1/namespaces/default/configmaps", params={"watch": "1", "resourceVersion": rv}) as r:
        # The server is in this event loop: these writes all land before the handler runs again.
        for i in range(cluster.store.history * 2):
            cluster.store.patch(res, "default", "c", "application/merge-patch+json", {"data": {"i": str(i)}})
        event = (await read_events(r, 1))[0]
    assert event["type"] == "ERROR" and event["object"]["code"] == 410


async def test_watch_bookmarks_and_timeout(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    rv = str(cluster.store.resource_version)
    start = time.monotonic()
    async with http.get(PODS, params={"watch": "1", "resourceVersion": rv, "allowWatchBookmarks": "true",
                                      "timeoutSeconds": "1"}) as resp:
        lines = [json.loads(line) async for line in resp.content if line.strip()]
    assert time.monotonic() - start < 5
    assert lines and all(e["type"] == "BOOKMARK" for e in lines)
    assert lines[0]["object"] == {"kind": "Pod", "apiVersion": "v1", "metadata": {"resourceVersion": rv}}


async def test_watch_label_selector_turns_relabel_into_added_deleted(cluster: Cluster,
                                                                     http: aiohttp.ClientSession) -> None:
    res = by_kind("Pod")
    cluster.store.create(res, pod("p", app="a"))
    rv = str(cluster.store.resource_version)
    async with http.get(PODS, params={"watch": "1", "resourceVersion": rv, "labelSelector": "app=b"}) as resp:
        cluster.store.patch(res, "default", "p", "application/merge-patch+json", {"metadata": {"labels": {"app": "b"}}})
        cluster.store.patch(res, "default", "p", "application/merge-patch+json", {"metadata": {"labels": {"app": "c"}}})
        events = await read_events(resp, 2)
    assert [e["type"] for e in events] == ["ADDED", "DELETED"]


async def test_finalizers_and_garbage_collection(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    store = cluster.store
    owner = store.create(by_kind("Deployment"), deployment("d"))
    ref = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d", "uid": owner["metadata"]["uid"],
           "controller": True}
    store.create(by_kind("Pod"), {**pod("child"), "metadata": {"name": "child", "ownerReferences": [ref]}})
    held = {"name": "held", "ownerReferences": [ref], "finalizers": ["example.com/x"]}
    store.create(by_kind("Pod"), {**pod("held"), "metadata": held})
    async with http.delete(f"{DEPLOYS}/d") as resp:
        assert resp.status == 200
    await eventually(lambda: store.try_get(by_kind("Pod"), "default", "child") is None)
    await eventually(lambda: (store.try_get(by_kind("Pod"), "default", "held") or {}).get("metadata", {})
                   .get("deletionTimestamp") is not None)
    store.patch(by_kind("Pod"), "default", "held", "application/json-patch+json",
                [{"op": "remove", "path": "/metadata/finalizers"}])
    assert store.try_get(by_kind("Pod"), "default", "held") is None
    orphan_owner = store.create(by_kind("ConfigMap"), {"metadata": {"name": "o"}})
    ref2 = {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": orphan_owner["metadata"]["uid"]}
    store.create(by_kind("Pod"), {**pod("kept"), "metadata": {"name": "kept", "ownerReferences": [ref2]}})
    async with http.delete("/api/v1/namespaces/default/configmaps/o", json={"propagationPolicy": "Orphan"}) as r:
        assert r.status == 200
    kept = store.get(by_kind("Pod"), "default", "kept")
    assert "ownerReferences" not in kept["metadata"]


async def test_custom_resource_status_subresource(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    crd = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
           "metadata": {"name": "widgets.example.com"},
           "spec": {"group": "example.com", "scope": "Namespaced",
                    "names": {"plural": "widgets", "singular": "widget", "kind": "Widget", "shortNames": ["wd"]},
                    "versions": [{"name": "v1", "served": True, "storage": True, "subresources": {"status": {}},
                                  "schema": {"openAPIV3Schema": {"type": "object"}}}]}}
    async with http.post("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=crd) as resp:
        created = await resp.json()
    assert {c["type"] for c in created["status"]["conditions"]} == {"NamesAccepted", "Established"}
    async with http.get("/apis/example.com/v1") as resp:
        names = [r["name"] for r in (await resp.json())["resources"]]
    assert names == ["widgets", "widgets/status"]
    url = "/apis/example.com/v1/namespaces/default/widgets"
    async with http.post(url, json={"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
                                    "spec": {"size": 1}, "status": {"ok": True}}) as resp:
        w = await resp.json()
    assert "status" not in w
    async with http.patch(f"{url}/w/status", json={"status": {"ok": True}, "spec": {"size": 9}},
                          headers={"Content-Type": "application/merge-patch+json"}) as resp:
        w = await resp.json()
    assert w["status"] == {"ok": True} and w["spec"] == {"size": 1}
    async with http.patch(f"{url}/w", json={"spec": {"size": 2}},
                          headers={"Content-Type": "application/strategic-merge-patch+json"}) as resp:
        assert resp.status == 415
    async with http.delete("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com") as resp:
        assert resp.status == 200
    async with http.get(url) as resp:
        assert resp.status == 404


async def test_pod_and_service_proxy(cluster: Cluster, http: aiohttp.ClientSession) -> None:
    cluster.store.create(by_kind("Pod"), pod("nurse"))

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=f"{request.method} {request.path} {request.query.get('q', '')}")

    cluster.register_proxy("Pod", "default", "nurse", handler)
    async with http.get(f"{PODS}/nurse:8080/proxy/metrics", params={"q": "1"}) as resp:
        assert resp.status == 200 and await resp.text() == "GET /metrics 1"
    cluster.store.create(by_kind("Pod"), pod("other"))
    async with http.get(f"{PODS}/other/proxy/metrics") as resp:
        assert resp.status == 503


async def test_discovery_and_version(http: aiohttp.ClientSession) -> None:
    async with http.get("/apis") as resp:
        groups = {g["name"] for g in (await resp.json())["groups"]}
    assert {"apps", "batch", "events.k8s.io", "coordination.k8s.io", "rbac.authorization.k8s.io",
            "apiextensions.k8s.io"} <= groups
    async with http.get("/api/v1") as resp:
        names = {r["name"] for r in (await resp.json())["resources"]}
    assert {"pods", "pods/status", "pods/proxy", "services/proxy", "events", "nodes"} <= names
    async with http.get("/version") as resp:
        assert (await resp.json())["major"] == "1"


async def test_store_python_api_returns_copies(cluster: Cluster) -> None:
    got = cluster.store.create(by_kind("Pod"), pod("p"))
    got["metadata"]["name"] = "mutated"
    assert cluster.store.get(by_kind("Pod"), "default", "p")["metadata"]["name"] == "p"
    seen: list[str] = []
    unsubscribe = cluster.store.subscribe(lambda t, r, o: seen.append(f"{t} {r.kind} {o['metadata']['name']}"))
    cluster.store.delete(by_kind("Pod"), "default", "p")
    unsubscribe()
    assert seen == ["DELETED Pod p"]
    with pytest.raises(ApiStatusError) as info:
        cluster.store.get(by_kind("Pod"), "default", "p")
    assert info.value.code == 404
