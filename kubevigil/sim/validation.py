"""Create/update validation: the required fields each built-in kind and CRDs must carry (422 Invalid otherwise)."""

from __future__ import annotations

from typing import Any

import orjson

from kubevigil.kube.resources import Resource
from kubevigil.kube.selectors import selector_from_spec
from kubevigil.sim.errors import invalid

_WORKLOAD_KINDS = {("apps", "deployments"), ("apps", "statefulsets"), ("apps", "daemonsets"), ("apps", "replicasets")}


class Validator:
    """Checks an object against the validation rules of its kind; raises 422 with one cause per problem."""

    def check(self, res: Resource, obj: dict[str, Any]) -> None:
        if causes := self.causes(res, obj):
            raise invalid(res, obj["metadata"].get("name", ""), causes)

    def causes(self, res: Resource, obj: dict[str, Any]) -> list[tuple[str, str]]:
        """The (field, message) problems of `obj`; empty when it is valid."""
        spec: dict[str, Any] = obj["spec"] if isinstance(obj.get("spec"), dict) else {}
        key = (res.group, res.plural)
        if key == ("", "pods"):
            return _pod_causes(spec)
        if key in _WORKLOAD_KINDS:
            return _workload_causes(spec)
        if key == ("batch", "jobs"):
            return [] if spec.get("template") else [("spec.template", "Required value")]
        if key == ("batch", "cronjobs"):
            return [(f"spec.{f}", "Required value") for f in ("schedule", "jobTemplate") if not spec.get(f)]
        if key == ("apiextensions.k8s.io", "customresourcedefinitions"):
            return _crd_causes(obj)
        return []


def _pod_causes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    containers = spec.get("containers")
    if not containers:
        causes.append(("spec.containers", "Required value"))
    for i, c in enumerate(containers or []):
        if not isinstance(c, dict) or not c.get("name"):
            causes.append((f"spec.containers[{i}].name", "Required value"))
        if not isinstance(c, dict) or not c.get("image"):
            causes.append((f"spec.containers[{i}].image", "Required value"))
    return causes


def _workload_causes(spec: dict[str, Any]) -> list[tuple[str, str]]:
    causes: list[tuple[str, str]] = []
    if not spec.get("selector"):
        causes.append(("spec.selector", "Required value"))
    if not spec.get("template"):
        causes.append(("spec.template", "Required value"))
    elif spec.get("selector"):
        causes.extend(_selector_mismatch(spec))
    return causes


def _selector_mismatch(spec: dict[str, Any]) -> list[tuple[str, str]]:
    try:
        sel = selector_from_spec(spec["selector"])
    except ValueError as e:
        return [("spec.selector", str(e))]
    labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if sel.empty or not sel.matches(labels):
        return [("spec.template.metadata.labels", (f"Invalid value: {orjson.dumps(labels).decode()}: "
                 "`selector` does not match template `labels`"))]
    return []


def _crd_causes(obj: dict[str, Any]) -> list[tuple[str, str]]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    causes = [(f"spec.{f}", "Required value") for f, v in
              (("group", spec.get("group")), ("names.plural", names.get("plural")),
               ("names.kind", names.get("kind")), ("scope", spec.get("scope")), ("versions", spec.get("versions")))
              if not v]
    if not causes:
        expected = f"{names['plural']}.{spec['group']}"
        if obj["metadata"].get("name") != expected:
            causes.append(("metadata.name", (f'Invalid value: "{obj["metadata"].get("name")}": '
                           f"must be spec.names.plural+\".\"+spec.group")))
        if sum(1 for v in spec["versions"] if v.get("storage")) != 1:
            causes.append(("spec.versions", "Invalid value: must have exactly one version marked as storage version"))
    return causes
