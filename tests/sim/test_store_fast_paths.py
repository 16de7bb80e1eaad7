"""The store's cheap paths: paged lists from a kept key order, `touch`, `patch_raw`, watch bytes encoded at commit."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from kubevigil.core.clock import ManualClock
from kubevigil.kube.resources import by_kind
from kubevigil.sim.store import ApiStatusError, Store

POD = by_kind("Pod")
NS = by_kind("Namespace")
MERGE = "application/merge-patch+json"


def pod(name: str, ns: str, **labels: str) -> dict[str, Any]:
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": ns, "labels": labels},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]}}


@pytest.fixture
def store() -> Store:
    s = Store(ManualClock(), history=100)
    # "ns" and "ns-a": one namespace name is a prefix of the other, the edge of a namespace's key range.
    for ns in ("ns", "ns-a", "zz"):
        s.create(NS, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}})
    for ns in ("ns", "ns-a", "zz"):
        for i in range(5):
            s.create(POD, pod(f"p{i}", ns, app="odd" if i % 2 else "even"))
    return s


def names(items: list[dict]) -> list[tuple[str, str]]:
    return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items]


def all_pages(store: Store, namespace: str | None, limit: int, **selectors: str) -> list[list[dict]]:
    pages, after = [], None
    while True:
        page = store.list_page(POD, namespace, after=after, limit=limit, **selectors)
        pages.append(page.items)
        if not page.more:
            return pages
        last = page.items[-1]["metadata"]
        after = (last["namespace"], last["name"])


def test_pages_join_to_the_unpaged_list_in_key_order(store: Store) -> None:
    for ns in (None, "ns", "ns-a", "zz"):
        pages = all_pages(store, ns, 2)
        assert names([o for p in pages for o in p]) == names(store.list_raw(POD, ns))
        assert all(len(p) == 2 for p in pages[:-1])
    assert {n for n, _ in names(store.list_raw(POD, "ns"))} == {"ns"}
    assert len(store.list_raw(POD)) == 15


def test_remaining_count_is_exact_unfiltered_and_unset_filtered(store: Store) -> None:
    first = store.list_page(POD, "ns-a", limit=2)
    assert (first.more, first.remaining) == (True, 3)
    filtered = store.list_page(POD, None, limit=2, label_selector="app=odd")
    assert filtered.more and filtered.remaining is None
    pages = all_pages(store, None, 2, label_selector="app=odd")
    assert [n for p in pages for n in names(p)] == [(ns, f"p{i}") for ns in ("ns", "ns-a", "zz") for i in (1, 3)]
    exact = store.list_page(POD, "zz", limit=5)
    assert (exact.more, exact.remaining, len(exact.items)) == (False, None, 5)


def test_key_order_follows_creates_and_deletes(store: Store) -> None:
    assert names(store.list_page(POD, "ns", limit=1).items) == [("ns", "p0")]
    store.create(POD, pod("a-first", "ns"))
    assert names(store.list_page(POD, "ns", limit=1).items) == [("ns", "a-first")]
    store.delete(POD, "ns", "a-first")
    store.delete(POD, "ns", "p0")
    assert names(store.list_page(POD, "ns", limit=1).items) == [("ns", "p1")]


def test_touch_commits_a_new_version_and_leaves_the_old_object_alone(store: Store) -> None:
    before = store.get_raw(POD, "ns", "p1")
    before_copy = orjson.loads(orjson.dumps(before))
    rv = store.resource_version
    store.touch(POD, "ns", "p1")
    after = store.get_raw(POD, "ns", "p1")
    assert after["metadata"]["resourceVersion"] == str(rv + 1)
    assert before == before_copy  # the committed object the history holds did not change
    assert {**after, "metadata": {**after["metadata"], "resourceVersion": "x"}} == \
        {**before, "metadata": {**before["metadata"], "resourceVersion": "x"}}
    (event,) = store.events_after(rv)
    assert (event.type, event.prev) == ("MODIFIED", before)
    assert orjson.loads(event.encoded) == after
    with pytest.raises(ApiStatusError) as err:
        store.touch(POD, "ns", "nope")
    assert err.value.code == 404


def test_every_commit_keeps_its_object_encoded_once(store: Store) -> None:
    rv = store.resource_version
    store.patch(POD, "ns", "p2", MERGE, {"metadata": {"annotations": {"a": "1"}}})
    store.delete(POD, "ns", "p3")
    events = store.events_after(rv)
    assert [e.type for e in events] == ["MODIFIED", "DELETED"]
    assert all(orjson.loads(e.encoded) == e.obj for e in events)


def test_patch_raw_returns_the_stored_object_and_patch_a_copy(store: Store) -> None:
    raw = store.patch_raw(POD, "ns", "p4", MERGE, {"metadata": {"labels": {"x": "1"}}})
    assert raw is store.get_raw(POD, "ns", "p4")
    copy = store.patch(POD, "ns", "p4", MERGE, {"status": {"phase": "Running"}}, subresource="status")
    assert copy == store.get_raw(POD, "ns", "p4") and copy is not store.get_raw(POD, "ns", "p4")
    assert copy["metadata"]["labels"]["x"] == "1" and copy["status"]["phase"] == "Running"


def _brute_dependents(store: Store, uid: str) -> set[tuple[str, str]]:
    return {(o["metadata"].get("namespace", ""), o["metadata"]["name"]) for bucket in store._data.values()
            for o in bucket.values() if any(r.get("uid") == uid for r in o["metadata"].get("ownerReferences") or [])}


def test_owner_index_follows_reference_changes_and_gc(store: Store) -> None:
    owners = {name: store.create(by_kind("ConfigMap"), {"metadata": {"name": name, "namespace": "ns"}})
              for name in ("o1", "o2")}
    uid1, uid2 = (owners[n]["metadata"]["uid"] for n in ("o1", "o2"))

    def ref(uid: str) -> dict:
        return {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": uid}

    store.patch(POD, "ns", "p0", MERGE, {"metadata": {"ownerReferences": [ref(uid1)]}})
    store.patch(POD, "ns", "p1", MERGE, {"metadata": {"ownerReferences": [ref(uid1), ref(uid2)]}})
    store.patch(POD, "zz", "p0", MERGE, {"metadata": {"ownerReferences": [ref(uid2)]}})
    store.patch(POD, "zz", "p0", MERGE, {"metadata": {"ownerReferences": [ref(uid1)]}})  # moved to the other owner
    for uid in (uid1, uid2):
        assert {k for _, k, _ in store.gc.dependents(uid)} == _brute_dependents(store, uid)
    assert [k for _, k, _ in store.gc.dependents(uid1)] == [("ns", "p0"), ("ns", "p1"), ("zz", "p0")]
    store.delete(by_kind("ConfigMap"), "ns", "o1")  # no running loop: collected at once
    assert store.try_get(POD, "ns", "p0") is None and store.try_get(POD, "zz", "p0") is None
    p1 = store.get(POD, "ns", "p1")  # another owner remains: only the reference goes
    assert [r["uid"] for r in p1["metadata"]["ownerReferences"]] == [uid2]
    assert _brute_dependents(store, uid1) == set() and store.gc.dependents(uid1) == []
    assert {k for _, k, _ in store.gc.dependents(uid2)} == {("ns", "p1")}
