"""RBAC: what a check's run may do (created per check, removed with it) and what kubevigil itself needs.

Per check: a ServiceAccount, a Role+RoleBinding (`level: namespace`) or ClusterRole+ClusterRoleBinding
(`level: cluster`), named as active-monitor names them, with the spec's rules only. Every object kubevigil creates
carries the managed-by label and an annotation listing the checks using it; an object without the label (a
ServiceAccount an admin made, e.g. for IRSA) is used as it is and never changed or deleted.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kubevigil.core.backoff import backoff_delay
from kubevigil.kube.errors import ApiError
from kubevigil.kube.resources import Resource, by_kind
from kubevigil.roles.checks.check import LABEL_MANAGED, MANAGER, CheckKey, Rbac
from kubevigil.roles.checks.config import ChecksSection
from kubevigil.roles.rbac import OWN_NAMESPACE

SA = by_kind("ServiceAccount")
ROLE = by_kind("Role")
ROLE_BINDING = by_kind("RoleBinding")
CLUSTER_ROLE = by_kind("ClusterRole")
CLUSTER_ROLE_BINDING = by_kind("ClusterRoleBinding")
USERS = "kubevigil.io/healthchecks"
RBAC_API = "rbac.authorization.k8s.io/v1"


class RbacError(Exception):
    """A run's RBAC cannot be set up; str() is one line for status."""


def _users(obj: dict[str, Any]) -> list[str]:
    text = (obj["metadata"].get("annotations") or {}).get(USERS, "")
    return [u for u in text.split(",") if u]


def _ours(obj: dict[str, Any]) -> bool:
    return (obj["metadata"].get("labels") or {}).get(LABEL_MANAGED) == MANAGER


def names(rbac: Rbac) -> list[tuple[Resource, str | None, str]]:
    """(resource, namespace, name) of the objects a check's RBAC consists of, ServiceAccount first."""
    sa = rbac.service_account
    if rbac.level == "cluster":
        return [(SA, rbac.namespace, sa), (CLUSTER_ROLE, None, f"{sa}-cluster-role"),
                (CLUSTER_ROLE_BINDING, None, f"{sa}-cluster-role-binding")]
    return [(SA, rbac.namespace, sa), (ROLE, rbac.namespace, f"{sa}-ns-role"),
            (ROLE_BINDING, rbac.namespace, f"{sa}-ns-role-binding")]


def _bodies(rbac: Rbac, user: str, owner_ref: dict[str, Any] | None) -> list[dict[str, Any]]:
    (_, ns, sa), (role_res, _, role), (bind_res, _, binding) = names(rbac)

    def meta(name: str, namespace: str | None) -> dict[str, Any]:
        m: dict[str, Any] = {"name": name, "labels": {LABEL_MANAGED: MANAGER}, "annotations": {USERS: user}}
        if namespace:
            m["namespace"] = namespace
            if owner_ref is not None:
                m["ownerReferences"] = [owner_ref]
        return m

    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(sa, ns)},
        {"apiVersion": RBAC_API, "kind": role_res.kind, "metadata": meta(role, (role_res.namespaced and ns) or None),
         "rules": [dict(r) for r in rbac.rules]},
        {"apiVersion": RBAC_API, "kind": bind_res.kind, "metadata": meta(binding, (bind_res.namespaced and ns) or None),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": role_res.kind, "name": role},
         "subjects": [{"kind": "ServiceAccount", "name": sa, "namespace": ns}]},
    ]


# Checks sharing an account add themselves to it at once (a restart starts them all): each conflict is re-read and
# applied again after a jittered pause, so N contenders settle in about N rounds instead of colliding each time.
CONFLICT_ATTEMPTS = 12
CONFLICT_BASE = 0.05
CONFLICT_CAP = 1.0


async def ensure(api: Any, rbac: Rbac, key: CheckKey, owner_ref: dict[str, Any] | None) -> None:
    """Create or update the check's RBAC; refuse to change an object of the same name kubevigil did not create."""
    user = str(key)
    for body in _bodies(rbac, user, owner_ref):
        for attempt in range(CONFLICT_ATTEMPTS):
            try:
                await _ensure_one(api, body, user)
                break
            except ApiError as exc:
                if exc.status != 409 or attempt == CONFLICT_ATTEMPTS - 1:
                    raise
            await asyncio.sleep(backoff_delay(attempt, CONFLICT_BASE, CONFLICT_CAP))


async def _ensure_one(api: Any, body: dict[str, Any], user: str) -> None:
    res = by_kind(body["kind"])
    ns = body["metadata"].get("namespace")
    name = body["metadata"]["name"]
    current = await _get(api, res, ns, name)
    if current is None:
        if await _create(api, res, ns, body):
            return
        current = await _get(api, res, ns, name)  # another check sharing it made it meanwhile
        if current is None:
            raise RbacError(f"{res.kind} {name} was created and deleted meanwhile; retrying")
    if not _ours(current):
        if res is SA:
            return  # an account someone else made (IRSA, …): use it, never change it
        raise RbacError(f"{res.kind} {name} exists and was not created by kubevigil; not changed")
    await _update(api, res, current, body, user)


async def _get(api: Any, res: Resource, ns: str | None, name: str) -> dict[str, Any] | None:
    try:
        return dict(await api.get(res, ns, name))
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise


async def _create(api: Any, res: Resource, ns: str | None, body: dict[str, Any]) -> bool:
    """Create the object; False when it already exists (made meanwhile)."""
    try:
        await api.create(res, ns, body)
    except ApiError as exc:
        if exc.status == 409:
            return False
        if exc.status in (403, 422):
            raise RbacError(f"cannot create {res.kind} {body['metadata']['name']}: {exc.message}") from None
        raise
    return True


async def _update(api: Any, res: Resource, current: dict[str, Any], body: dict[str, Any], user: str) -> None:
    users = _users(current)
    patch: dict[str, Any] = {}
    if user not in users:
        # With the resourceVersion, two checks adding themselves at once conflict (409, retried) instead of one
        # silently overwriting the other's entry.
        patch["metadata"] = {"annotations": {USERS: ",".join(sorted({*users, user}))},
                             "resourceVersion": current["metadata"].get("resourceVersion")}
        refs = body["metadata"].get("ownerReferences")
        if refs:
            known = current["metadata"].get("ownerReferences") or []
            if all(r["uid"] != refs[0]["uid"] for r in known):
                patch["metadata"]["ownerReferences"] = known + refs
    for part in ("rules", "roleRef", "subjects"):
        if part in body and body[part] != current.get(part) and part != "roleRef":
            patch[part] = body[part]
    if patch:
        try:
            await api.patch(res, current["metadata"].get("namespace"), current["metadata"]["name"], patch, "merge")
        except ApiError as exc:
            if exc.status in (403, 422):
                raise RbacError(f"cannot update {res.kind} {current['metadata']['name']}: {exc.message}") from None
            raise


async def release(api: Any, key: CheckKey) -> int:
    """Remove `key` from every kubevigil-made RBAC object; delete those no check uses any more. Returns deletions."""
    user, deleted = str(key), 0
    for res in (CLUSTER_ROLE_BINDING, CLUSTER_ROLE, ROLE_BINDING, ROLE, SA):
        items, _ = await api.list(res, label_selector=f"{LABEL_MANAGED}={MANAGER}")
        for obj in items:
            users = _users(obj)
            if not _ours(obj) or user not in users:
                continue
            rest = [u for u in users if u != user]
            meta = obj["metadata"]
            try:
                if rest:
                    await api.patch(res, meta.get("namespace"), meta["name"],
                                    {"metadata": {"annotations": {USERS: ",".join(rest)},
                                                  "resourceVersion": meta.get("resourceVersion")}}, "merge")
                else:
                    await api.delete(res, meta.get("namespace"), meta["name"])
                    deleted += 1
            except ApiError as exc:
                if exc.status != 404:
                    raise
    return deleted


def rules(section: ChecksSection) -> list[dict[str, Any]]:
    """kubevigil's own ClusterRole for the checks role: exactly the verbs it uses, no wildcard.

    It has no `escalate` or `bind`: the API server then refuses a check's rbacRules that grant more than kubevigil
    holds itself, so creating a HealthCheck never hands out more than this.
    """
    read = ["get", "list", "watch"]
    out = [
        {"apiGroups": ["activemonitor.keikoproj.io", "kubevigil.io"], "resources": ["healthchecks"],
         "verbs": [*read, "patch", "update"]},
        {"apiGroups": ["activemonitor.keikoproj.io", "kubevigil.io"], "resources": ["healthchecks/status"],
         "verbs": ["get", "patch", "update"]},
        {"apiGroups": ["argoproj.io"], "resources": ["workflows"], "verbs": [*read, "create", "delete"]},
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": [*read, "create", "delete"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": [*read, "delete"]},
        {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
        {"apiGroups": [""], "resources": ["serviceaccounts"], "verbs": [*read, "create", "patch", "delete"]},
        {"apiGroups": ["rbac.authorization.k8s.io"],
         "resources": ["roles", "rolebindings", "clusterroles", "clusterrolebindings"],
         "verbs": [*read, "create", "patch", "delete"]},
        {"apiGroups": ["apps"], "resources": ["deployments", "statefulsets"], "verbs": ["get", "patch"]},
    ]
    out += _probe_rules(section)
    if section.probes.secrets:  # header values from Secrets (a probe may name only its own namespace's)
        out.append({"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]})
    return out


def token_rules(section: ChecksSection) -> dict[str, list[dict[str, Any]]]:
    """The Role that reads the run-now API token: `get` on that one Secret, in its namespace only."""
    token = section.api_token
    if token is None:
        return {}
    return {token.namespace or OWN_NAMESPACE: [{"apiGroups": [""], "resources": ["secrets"],
                                               "resourceNames": [token.secret], "verbs": ["get"]}]}


def _probe_rules(section: ChecksSection) -> list[dict[str, Any]]:
    """get and list on what the `kubernetes` probe may read, one rule per API group."""
    by_group: dict[str, list[str]] = {}
    for name in section.probes.resources:
        plural, _, group = name.partition(".")
        by_group.setdefault(group, []).append(plural)
    return [{"apiGroups": [group], "resources": sorted(set(plurals)), "verbs": ["get", "list"]}
            for group, plurals in sorted(by_group.items())]
