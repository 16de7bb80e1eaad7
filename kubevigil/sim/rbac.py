"""RBAC as kube-apiserver evaluates it: the stored Roles, ClusterRoles and their bindings decide each request.

The admin token's user is in `system:masters` and may do anything. Every authenticated user also gets what the
bootstrap roles `system:discovery`, `system:basic-user` and `system:public-info-viewer` grant (discovery paths and
self reviews); those are built in here rather than stored, so listing ClusterRoles shows only what was applied.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kubevigil.kube.selectors import selector_from_spec
from kubevigil.sim.errors import ApiStatusError

if TYPE_CHECKING:
    from kubevigil.sim.store import Store

MASTERS = "system:masters"
AUTHENTICATED = "system:authenticated"
SA_PREFIX = "system:serviceaccount:"
_RBAC = "rbac.authorization.k8s.io"

# The bootstrap policy every authenticated user holds (system:discovery, system:basic-user, public-info-viewer).
_BOOTSTRAP_RULES: tuple[dict[str, Any], ...] = (
    {"verbs": ["get"], "nonResourceURLs": ["/api", "/api/*", "/apis", "/apis/*", "/healthz", "/livez", "/openapi",
                                           "/openapi/*", "/readyz", "/version", "/version/"]},
    {"verbs": ["create"], "apiGroups": ["authorization.k8s.io"],
     "resources": ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]},
    {"verbs": ["create"], "apiGroups": ["authentication.k8s.io"], "resources": ["selfsubjectreviews"]},
)


@dataclass(frozen=True, slots=True)
class User:
    """An authenticated identity: user name, groups, uid (service accounts have one)."""

    name: str
    groups: tuple[str, ...]
    uid: str = ""

    def info(self) -> dict[str, Any]:
        """authentication.k8s.io UserInfo."""
        out: dict[str, Any] = {"username": self.name, "groups": list(self.groups)}
        if self.uid:
            out["uid"] = self.uid
        return out


def service_account_user(namespace: str, name: str, uid: str = "") -> User:
    return User(f"{SA_PREFIX}{namespace}:{name}",
                ("system:serviceaccounts", f"system:serviceaccounts:{namespace}", AUTHENTICATED), uid)


ADMIN = User("kubernetes-admin", (MASTERS, AUTHENTICATED))


@dataclass(frozen=True, slots=True)
class Attributes:
    """What one request asks to do (authorizer.Attributes): a resource request, or a non-resource path."""

    user: User
    verb: str
    namespace: str = ""
    group: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    path: str = ""

    @property
    def resource_request(self) -> bool:
        return bool(self.resource)


class Authorizer:
    """Allows a request when a rule reachable from the user's bindings matches it."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def allowed(self, attrs: Attributes) -> bool:
        if MASTERS in attrs.user.groups:
            return True
        return any(_rule_matches(rule, attrs) for rule in self.rules(attrs.user, attrs.namespace))

    def check(self, attrs: Attributes) -> None:
        """403 Forbidden with the API server's message unless `attrs` is allowed."""
        if not self.allowed(attrs):
            raise forbidden(attrs)

    def rules(self, user: User, namespace: str) -> Iterator[dict[str, Any]]:
        """Every policy rule that applies to `user` in `namespace` ("" = cluster scope only)."""
        if AUTHENTICATED in user.groups:
            yield from _BOOTSTRAP_RULES
        for binding in self._list("ClusterRoleBinding"):
            if _binds(binding, user, ""):
                yield from self._role_rules(binding.get("roleRef") or {}, "")
        if namespace:
            for binding in self._list("RoleBinding", namespace):
                if _binds(binding, user, namespace):
                    yield from self._role_rules(binding.get("roleRef") or {}, namespace)

    def _list(self, kind: str, namespace: str | None = None) -> list[dict[str, Any]]:
        return self._store.list_raw(self._store.resource(f"{_RBAC}/v1", kind), namespace)

    def _role_rules(self, ref: dict[str, Any], namespace: str) -> Iterable[dict[str, Any]]:
        kind, name = ref.get("kind"), ref.get("name", "")
        if kind == "Role" and namespace:
            role = self._store.try_get(self._store.resource(f"{_RBAC}/v1", "Role"), namespace, name)
            return (role or {}).get("rules") or []
        if kind == "ClusterRole":
            role = self._store.try_get(self._store.resource(f"{_RBAC}/v1", "ClusterRole"), None, name)
            return self._cluster_role_rules(role) if role else []
        return []

    def _cluster_role_rules(self, role: dict[str, Any]) -> list[dict[str, Any]]:
        """A ClusterRole's rules; an aggregated one has the rules of every ClusterRole its selectors match."""
        aggregation = role.get("aggregationRule")
        if not aggregation:
            return list(role.get("rules") or [])
        selectors = [selector_from_spec(s) for s in aggregation.get("clusterRoleSelectors") or []]
        out: list[dict[str, Any]] = []
        for other in self._list("ClusterRole"):
            labels = other["metadata"].get("labels") or {}
            if other is not role and not other.get("aggregationRule") and \
                    any(not s.empty and s.matches(labels) for s in selectors):
                out.extend(other.get("rules") or [])
        return out


def _binds(binding: dict[str, Any], user: User, namespace: str) -> bool:
    for subject in binding.get("subjects") or []:
        kind, name = subject.get("kind"), subject.get("name", "")
        if kind == "User" and name == user.name:
            return True
        if kind == "Group" and name in user.groups:
            return True
        if kind == "ServiceAccount":
            sa_ns = subject.get("namespace") or namespace
            if user.name == f"{SA_PREFIX}{sa_ns}:{name}":
                return True
    return False


def _rule_matches(rule: dict[str, Any], attrs: Attributes) -> bool:
    verbs = rule.get("verbs") or []
    if "*" not in verbs and attrs.verb not in verbs:
        return False
    if not attrs.resource_request:
        return any(u == "*" or u == attrs.path or (u.endswith("*") and attrs.path.startswith(u[:-1]))
                   for u in rule.get("nonResourceURLs") or [])
    groups = rule.get("apiGroups") or []
    if "*" not in groups and attrs.group not in groups:
        return False
    combined = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    if not any(r == "*" or r == combined or (attrs.subresource and r == f"*/{attrs.subresource}")
               for r in rule.get("resources") or []):
        return False
    names = rule.get("resourceNames") or []
    return not names or attrs.name in names


def forbidden(attrs: Attributes) -> ApiStatusError:
    """The 403 the API server writes (responsewriters.forbiddenMessage wrapped in errors.NewForbidden)."""
    user = attrs.user.name
    if not attrs.resource_request:
        return ApiStatusError(403, "Forbidden", f'forbidden: User "{user}" cannot {attrs.verb} path "{attrs.path}"',
                              {})
    resource = f"{attrs.resource}/{attrs.subresource}" if attrs.subresource else attrs.resource
    scope = f'in the namespace "{attrs.namespace}"' if attrs.namespace else "at the cluster scope"
    why = f'User "{user}" cannot {attrs.verb} resource "{resource}" in API group "{attrs.group}" {scope}'
    qualified = f"{attrs.resource}.{attrs.group}" if attrs.group else attrs.resource
    message = f'{qualified} "{attrs.name}" is forbidden: {why}' if attrs.name else f"{qualified} is forbidden: {why}"
    details: dict[str, Any] = {"group": attrs.group, "kind": attrs.resource}
    if attrs.name:
        details = {"name": attrs.name, **details}
    return ApiStatusError(403, "Forbidden", message, details)


def rules_review(authorizer: Authorizer, user: User, namespace: str) -> dict[str, Any]:
    """SelfSubjectRulesReview status: the rules that apply in `namespace`, split by kind."""
    if MASTERS in user.groups:
        resource_rules = [{"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}]
        non_resource = [{"verbs": ["*"], "nonResourceURLs": ["*"]}]
    else:
        rules = list(authorizer.rules(user, namespace))
        resource_rules = [{k: r[k] for k in ("verbs", "apiGroups", "resources", "resourceNames") if r.get(k)}
                          for r in rules if r.get("resources")]
        non_resource = [{"verbs": r["verbs"], "nonResourceURLs": r["nonResourceURLs"]}
                        for r in rules if r.get("nonResourceURLs")]
    return {"resourceRules": resource_rules, "nonResourceRules": non_resource, "incomplete": False}
