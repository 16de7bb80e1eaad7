"""A small namespace of objects for events to be about: Deployment web -> ReplicaSet web-1 -> Pod web-1-abc."""

from __future__ import annotations

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster

CONTAINERS = {"containers": [{"name": "c", "image": "nginx"}]}


def ensure_namespace(cluster: Cluster, name: str) -> None:
    if cluster.store.try_get(by_kind("Namespace"), None, name) is None:
        cluster.store.create(by_kind("Namespace"), {"apiVersion": "v1", "kind": "Namespace",
                                                    "metadata": {"name": name}})


def shop_objects(cluster: Cluster) -> dict[str, dict]:
    """Creates the shop objects (the Pod carries labels app=web, version=dev and runs on node-1)."""
    s = cluster.store
    ensure_namespace(cluster, "shop")
    selector = {"matchLabels": {"app": "web"}}
    template = {"metadata": {"labels": {"app": "web"}}, "spec": CONTAINERS}
    dep = s.create(by_kind("Deployment"), {"apiVersion": "apps/v1", "kind": "Deployment",
                   "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"}},
                   "spec": {"selector": selector, "template": template}})
    rs = s.create(by_kind("ReplicaSet"), {"apiVersion": "apps/v1", "kind": "ReplicaSet",
                  "metadata": {"name": "web-1", "namespace": "shop", "labels": {"app": "web"},
                               "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "web",
                                                    "uid": dep["metadata"]["uid"], "controller": True}]},
                  "spec": {"selector": selector, "template": template}})
    pod = s.create(by_kind("Pod"), {"apiVersion": "v1", "kind": "Pod",
                   "metadata": {"name": "web-1-abc", "namespace": "shop", "labels": {"app": "web", "version": "dev"},
                                "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-1",
                                                     "uid": rs["metadata"]["uid"], "controller": True}]},
                   "spec": {"nodeName": "node-1", **CONTAINERS}})
    return {"deployment": dep, "replicaset": rs, "pod": pod}
