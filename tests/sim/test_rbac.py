"""ServiceAccount tokens authorized by the stored RBAC objects, exactly as kube-apiserver's RBAC authorizer."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest_asyncio

from kubevigil.kube.resources import by_kind
from kubevigil.sim.cluster import Cluster

RBAC = "rbac.authorization.k8s.io/v1"


def apply(c: Cluster, kind: str, obj: dict[str, Any]) -> None:
    c.store.create(c.store.resource(RBAC, kind), obj)


@pytest_asyncio.fixture
async def robot(cluster: Cluster) -> AsyncIterator[aiohttp.ClientSession]:
    token = cluster.token_for("default", "robot")
    ctx = ssl.create_default_context(cadata=cluster.cert.cert_pem.decode())
    async with aiohttp.ClientSession(base_url=cluster.url, headers={"Authorization": f"Bearer {token}"},
                                     connector=aiohttp.TCPConnector(ssl=ctx),
                                     timeout=aiohttp.ClientTimeout(total=30)) as session:
        yield session


async def status(session: aiohttp.ClientSession, method: str, path: str, **kw: Any) -> tuple[int, dict]:
    async with session.request(method, path, **kw) as resp:
        return resp.status, (await resp.json() if resp.content_type == "application/json" else {})


async def test_rules_verbs_groups_subresources_names_and_urls(cluster: Cluster,
                                                              robot: aiohttp.ClientSession) -> None:
    sa = {"kind": "ServiceAccount", "name": "robot", "namespace": "default"}
    apply(cluster, "Role", {"metadata": {"name": "r", "namespace": "default"}, "rules": [
        {"verbs": ["get", "list", "watch"], "apiGroups": [""], "resources": ["pods", "pods/log"]},
        {"verbs": ["update"], "apiGroups": ["coordination.k8s.io"], "resources": ["leases"],
         "resourceNames": ["mine"]}]})
    apply(cluster, "RoleBinding", {"metadata": {"name": "rb", "namespace": "default"},
                                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "r"},
                                   "subjects": [sa]})
    # An aggregated ClusterRole picks up the rules of every ClusterRole its selector matches.
    apply(cluster, "ClusterRole", {"metadata": {"name": "agg"}, "aggregationRule": {
        "clusterRoleSelectors": [{"matchLabels": {"part": "agg"}}]}})
    apply(cluster, "ClusterRole", {"metadata": {"name": "nodes", "labels": {"part": "agg"}}, "rules": [
        {"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]},
        {"verbs": ["get"], "nonResourceURLs": ["/metrics", "/debug/*"]}]})
    apply(cluster, "ClusterRoleBinding", {"metadata": {"name": "crb"}, "roleRef": {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "agg"}, "subjects": [sa]})
    assert (await status(robot, "GET", "/api/v1/namespaces/default/pods"))[0] == 200
    assert (await status(robot, "GET", "/api/v1/pods"))[0] == 403  # a RoleBinding grants one namespace only
    assert (await status(robot, "GET", "/api/v1/nodes"))[0] == 200
    assert (await status(robot, "GET", "/apis/apps/v1"))[0] == 200  # discovery: system:discovery
    code, body = await status(robot, "DELETE", "/api/v1/namespaces/default/pods/x")
    assert code == 403 and body["message"] == (
        'pods "x" is forbidden: User "system:serviceaccount:default:robot" cannot delete resource "pods" in API '
        'group "" in the namespace "default"')
    assert body["details"] == {"name": "x", "group": "", "kind": "pods"}
    code, body = await status(robot, "PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/other",
                              json={"metadata": {"name": "other"}})
    assert code == 403 and 'cannot update resource "leases" in API group "coordination.k8s.io"' in body["message"]
    code, body = await status(robot, "PUT", "/apis/coordination.k8s.io/v1/namespaces/default/leases/mine",
                              json={"metadata": {"name": "mine"}})
    assert code == 404  # allowed by resourceNames; the lease just does not exist
    code, body = await status(robot, "GET", "/api/v1/namespaces/default/pods/x/exec")
    assert code == 403
    code, body = await status(robot, "GET", "/api/v1/watch/namespaces")
    assert code == 403
    assert (await status(robot, "GET", "/api/v1/namespaces?watch=1"))[0] == 403
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectAccessReview",
              "spec": {"resourceAttributes": {"verb": "get", "resource": "pods", "subresource": "log",
                                              "namespace": "default"}}}
    code, body = await status(robot, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review)
    assert code == 201 and body["status"]["allowed"] is True
    review["spec"] = {"nonResourceAttributes": {"verb": "get", "path": "/debug/pprof"}}
    code, body = await status(robot, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review)
    assert body["status"]["allowed"] is True
    review["spec"] = {"nonResourceAttributes": {"verb": "get", "path": "/logs"}}
    code, body = await status(robot, "POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", json=review)
    assert body["status"]["allowed"] is False
    rules = {"apiVersion": "authorization.k8s.io/v1", "kind": "SelfSubjectRulesReview",
             "spec": {"namespace": "default"}}
    code, body = await status(robot, "POST", "/apis/authorization.k8s.io/v1/selfsubjectrulesreviews", json=rules)
    assert {"verbs": ["list"], "apiGroups": [""], "resources": ["nodes"]} in body["status"]["resourceRules"]


async def test_tokens_end_with_their_service_account_and_impersonation_needs_rights(
        cluster: Cluster, robot: aiohttp.ClientSession, http: aiohttp.ClientSession) -> None:
    code, body = await status(robot, "GET", "/api/v1/namespaces/default/pods",
                              headers={"Impersonate-User": "kubernetes-admin"})
    assert code == 403 and body["message"] == (
        'users "kubernetes-admin" is forbidden: User "system:serviceaccount:default:robot" cannot impersonate '
        'resource "users" in API group "" at the cluster scope')
    sar = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview", "spec": {
        "user": "system:serviceaccount:default:robot", "groups": ["system:serviceaccounts"],
        "resourceAttributes": {"verb": "list", "resource": "pods", "namespace": "default"}}}
    code, body = await status(http, "POST", "/apis/authorization.k8s.io/v1/subjectaccessreviews", json=sar)
    assert code == 201 and body["status"]["allowed"] is False
    cluster.store.delete(by_kind("ServiceAccount"), "default", "robot")
    assert (await status(robot, "GET", "/api/v1/namespaces/default/pods"))[0] == 401
