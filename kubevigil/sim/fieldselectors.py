"""Field selectors as the API server supports them: a fixed set of fields per resource, with =, == and !=."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubevigil.kube.resources import Resource

_COMMON = frozenset({"metadata.name", "metadata.namespace"})
_INVOLVED = frozenset(
    f"involvedObject.{f}" for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")
)
# Which fields each resource accepts besides metadata.name/namespace (from the API server's field label conversions).
_FIELDS: dict[tuple[str, str], frozenset[str]] = {
    ("", "pods"): frozenset({"spec.nodeName", "spec.restartPolicy", "spec.schedulerName", "spec.serviceAccountName",
                             "spec.hostNetwork", "status.phase", "status.podIP", "status.nominatedNodeName"}),
    ("", "events"): _INVOLVED | {"reason", "reportingComponent", "source", "type"},
    ("events.k8s.io", "events"): frozenset(
        {f"regarding.{f}" for f in ("kind", "namespace", "name", "uid", "apiVersion", "resourceVersion", "fieldPath")}
        | {"reason", "reportingController", "type"}),
    ("", "nodes"): frozenset({"spec.unschedulable"}),
    ("", "namespaces"): frozenset({"status.phase"}),
    ("", "secrets"): frozenset({"type"}),
    ("", "replicationcontrollers"): frozenset({"status.replicas"}),
    ("apps", "replicasets"): frozenset({"status.replicas"}),
    ("batch", "jobs"): frozenset({"status.successful"}),
}
# Core Events expose `source` as the component name.
_ALIASES = {"source": "source.component"}


@dataclass(frozen=True, slots=True)
class FieldRequirement:
    path: tuple[str, ...]
    value: str
    negate: bool


def _lookup(obj: dict[str, Any], path: tuple[str, ...]) -> str:
    cur: Any = obj
    for part in path:
        if not isinstance(cur, dict):
            return ""
        cur = cur.get(part)
    if cur is None:
        return ""
    if isinstance(cur, bool):
        return "true" if cur else "false"
    return str(cur)


@dataclass(frozen=True, slots=True)
class FieldSelector:
    requirements: tuple[FieldRequirement, ...] = ()

    def matches(self, obj: dict[str, Any]) -> bool:
        return all((_lookup(obj, r.path) == r.value) != r.negate for r in self.requirements)

    @property
    def empty(self) -> bool:
        return not self.requirements


def allowed_fields(res: Resource, extra: frozenset[str] = frozenset()) -> frozenset[str]:
    """The field labels this resource accepts (CRDs add their `selectableFields` via `extra`)."""
    return _COMMON | _FIELDS.get((res.group, res.plural), frozenset()) | extra


def parse_field_selector(text: str | None, res: Resource, extra: frozenset[str] = frozenset()) -> FieldSelector:
    """Parse `a.b=x,c!=y` for `res`; ValueError for bad syntax or a field the resource does not support."""
    if not text or not text.strip():
        return FieldSelector()
    allowed = allowed_fields(res, extra)
    reqs = []
    for clause in text.split(","):
        clause = clause.strip()
        if "!=" in clause:
            field, value, negate = *clause.split("!=", 1), True
        elif "==" in clause:
            field, value, negate = *clause.split("==", 1), False
        elif "=" in clause:
            field, value, negate = *clause.split("=", 1), False
        else:
            raise ValueError(f"invalid field selector {text!r}: {clause!r} is not of the form field=value")
        field = field.strip()
        if field not in allowed:
            raise ValueError(f'field label not supported: {field}')
        path = tuple(_ALIASES.get(field, field).split("."))
        reqs.append(FieldRequirement(path, value.strip(), negate))
    return FieldSelector(tuple(reqs))
