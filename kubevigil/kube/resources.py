"""The built-in resource table: where each kind lives in the API, shared by the client and the emulator."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Resource:
    group: str  # "" for core
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: tuple[str, ...] = ()  # "status", "scale", "proxy"
    categories: tuple[str, ...] = ()
    verbs: tuple[str, ...] = field(
        default=("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")
    )

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        """The URL path for a collection (no name) or one object, in one namespace or all."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
            if subresource:
                base += f"/{subresource}"
        return base


def _r(group: str, version: str, kind: str, plural: str, namespaced: bool = True, **kw: object) -> Resource:
    return Resource(group, version, kind, plural, namespaced, **kw)  # type: ignore[arg-type]


BUILTIN: tuple[Resource, ...] = (
    _r("", "v1", "Namespace", "namespaces", False, short_names=("ns",), subresources=("status",)),
    _r("", "v1", "Node", "nodes", False, short_names=("no",), subresources=("status", "proxy")),
    _r("", "v1", "Pod", "pods", short_names=("po",), subresources=("status", "proxy", "log", "eviction"),
       categories=("all",)),
    _r("", "v1", "Service", "services", short_names=("svc",), subresources=("status", "proxy"), categories=("all",)),
    _r("", "v1", "Endpoints", "endpoints", short_names=("ep",)),
    _r("", "v1", "Event", "events", short_names=("ev",)),
    _r("", "v1", "ConfigMap", "configmaps", short_names=("cm",)),
    _r("", "v1", "Secret", "secrets"),
    _r("", "v1", "ServiceAccount", "serviceaccounts", short_names=("sa",), subresources=("token",)),
    _r("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims", short_names=("pvc",), subresources=("status",)),
    _r("apps", "v1", "Deployment", "deployments", short_names=("deploy",), subresources=("status", "scale"), categories=("all",)),
    _r("apps", "v1", "StatefulSet", "statefulsets", short_names=("sts",), subresources=("status", "scale"), categories=("all",)),
    _r("apps", "v1", "DaemonSet", "daemonsets", short_names=("ds",), subresources=("status",), categories=("all",)),
    _r("apps", "v1", "ReplicaSet", "replicasets", short_names=("rs",), subresources=("status", "scale"), categories=("all",)),
    _r("batch", "v1", "Job", "jobs", subresources=("status",), categories=("all",)),
    _r("batch", "v1", "CronJob", "cronjobs", short_names=("cj",), subresources=("status",), categories=("all",)),
    _r("events.k8s.io", "v1", "Event", "events", short_names=("ev",)),
    _r("coordination.k8s.io", "v1", "Lease", "leases"),
    _r("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    _r("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings"),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _r("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _r("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", short_names=("pdb",), subresources=("status",)),
    _r("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices"),
    # Virtual resources: a POST is answered, nothing is stored.
    _r("authorization.k8s.io", "v1", "SelfSubjectAccessReview", "selfsubjectaccessreviews", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SelfSubjectRulesReview", "selfsubjectrulesreviews", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "SubjectAccessReview", "subjectaccessreviews", False, verbs=("create",)),
    _r("authorization.k8s.io", "v1", "LocalSubjectAccessReview", "localsubjectaccessreviews", verbs=("create",)),
    _r("authentication.k8s.io", "v1", "SelfSubjectReview", "selfsubjectreviews", False, verbs=("create",)),
    _r("authentication.k8s.io", "v1", "TokenReview", "tokenreviews", False, verbs=("create",)),
    _r("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", False,
       short_names=("crd", "crds"), subresources=("status",)),
)

_BY_KIND: dict[str, Resource] = {}
for _res in BUILTIN:
    # core/v1 Event wins the bare "Event" name, as kubectl resolves it.
    _BY_KIND.setdefault(_res.kind, _res)
    _BY_KIND[f"{_res.api_version}/{_res.kind}"] = _res


def by_kind(kind: str, api_version: str | None = None) -> Resource:
    """Look up a built-in kind ("Deployment", or with api_version "apps/v1"); KeyError if unknown."""
    key = f"{api_version}/{kind}" if api_version else kind
    return _BY_KIND[key]
