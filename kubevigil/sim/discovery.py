"""Discovery documents (/api, /apis, /api/v1, /apis/<g>/<v>, /version) built from the store's served resources."""

from __future__ import annotations

import re
from typing import Any

from kubevigil.kube.resources import Resource

VERSION_INFO = {
    "major": "1", "minor": "31", "gitVersion": "v1.31.0-kubevigil-sim", "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean", "buildDate": "2024-08-13T00:00:00Z", "goVersion": "go1.22.5", "compiler": "gc",
    "platform": "linux/amd64",
}
_VERSION_RE = re.compile(r"^v(\d+)(?:(alpha|beta)(\d+))?$")
# Subresources the emulator actually serves, with the verbs discovery reports and, where it is not the parent's
# kind, the (group, version, kind) of the subresource's own type.
_SUBRESOURCES = {"status": ("get", "patch", "update"), "proxy": ("create", "delete", "get", "patch", "update"),
                 "log": ("get",), "eviction": ("create",), "scale": ("get", "patch", "update"), "token": ("create",)}
_SUB_KINDS = {"eviction": ("policy", "v1", "Eviction"), "scale": ("autoscaling", "v1", "Scale"),
              "token": ("authentication.k8s.io", "v1", "TokenRequest")}
_PROXY_KINDS = {"Pod": "PodProxyOptions", "Service": "ServiceProxyOptions", "Node": "NodeProxyOptions"}


def version_priority(version: str) -> tuple[int, int, int]:
    """Kubernetes' version ordering as a sort key (GA > beta > alpha, then by number), highest first."""
    m = _VERSION_RE.match(version)
    if not m:
        return (3, 0, 0)
    level = {None: 0, "beta": 1, "alpha": 2}[m[2]]
    return (level, -int(m[1]), -int(m[3] or 0))


def api_versions(server_address: str) -> dict[str, Any]:
    return {"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def api_group_list(resources: list[Resource]) -> dict[str, Any]:
    versions: dict[str, set[str]] = {}
    for res in resources:
        if res.group:
            versions.setdefault(res.group, set()).add(res.version)
    groups = []
    for group in sorted(versions):
        ordered = sorted(versions[group], key=version_priority)
        entries = [{"groupVersion": f"{group}/{v}", "version": v} for v in ordered]
        groups.append({"name": group, "versions": entries, "preferredVersion": entries[0]})
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups}


def _entry(res: Resource) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": res.plural, "singularName": res.singular, "namespaced": res.namespaced,
                             "kind": res.kind, "verbs": list(res.verbs)}
    if res.short_names:
        entry["shortNames"] = list(res.short_names)
    if res.categories:
        entry["categories"] = list(res.categories)
    return entry


def api_resource_list(group: str, version: str, resources: list[Resource]) -> dict[str, Any] | None:
    """The APIResourceList of one group/version, or None when nothing is served there."""
    served = [r for r in resources if r.group == group and r.version == version]
    if not served:
        return None
    out = []
    for res in sorted(served, key=lambda r: r.plural):
        out.append(_entry(res))
        for sub in res.subresources:
            if sub in _SUBRESOURCES:
                kind = _PROXY_KINDS.get(res.kind, res.kind) if sub == "proxy" else res.kind
                entry: dict[str, Any] = {"name": f"{res.plural}/{sub}", "singularName": "",
                                         "namespaced": res.namespaced, "kind": kind, "verbs": list(_SUBRESOURCES[sub])}
                if sub in _SUB_KINDS:
                    entry["group"], entry["version"], entry["kind"] = _SUB_KINDS[sub]
                out.append(entry)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": out}
