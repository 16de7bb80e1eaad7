"""Which pods a job scrapes: from the informer cache, Running and Ready, with an IP; and what the cache keeps."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Target:
    uid: str
    namespace: str
    name: str
    ip: str
    node: str
    host_ip: str

    def url(self, port: int, path: str) -> str:
        host = f"[{self.ip}]" if ":" in self.ip else self.ip
        return f"http://{host}:{port}{path}"

    def proxy_path(self, port: int, path: str) -> str:
        return f"/api/v1/namespaces/{self.namespace}/pods/{self.name}:{port}/proxy{path}"


def pod_view(pod: dict[str, Any]) -> dict[str, Any]:
    """What the informer cache keeps of a pod: identity, node, addresses, phase and the Ready condition."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    ready = [c for c in status.get("conditions") or () if c.get("type") == "Ready"]
    view_meta = {k: meta[k] for k in ("name", "namespace", "uid", "resourceVersion", "deletionTimestamp") if k in meta}
    view_status = {k: status[k] for k in ("phase", "podIP", "hostIP") if k in status}
    view_status["conditions"] = ready
    return {"metadata": view_meta, "spec": {"nodeName": (pod.get("spec") or {}).get("nodeName", "")},
            "status": view_status}


def target_of(pod: dict[str, Any]) -> Target | None:
    """The pod as a scrape target, or None while it is not Running and Ready with an IP (or is terminating)."""
    meta = pod.get("metadata") or {}
    status = pod.get("status") or {}
    if meta.get("deletionTimestamp") or status.get("phase") != "Running" or not status.get("podIP"):
        return None
    if not any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or ()):
        return None
    return Target(meta.get("uid", ""), meta.get("namespace", ""), meta.get("name", ""), status["podIP"],
                  (pod.get("spec") or {}).get("nodeName") or "", status.get("hostIP") or "")


def subnet_of(ip: str, prefix_length: int) -> str | None:
    """`10.0.1.37`, 24 -> `10.0.1.0/24`; the length is capped at the address family's size."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return None
    bits = min(prefix_length, address.max_prefixlen)
    return str(ipaddress.ip_network(f"{address}/{bits}", strict=False))
