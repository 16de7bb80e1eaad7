"""What the page reads of the process, and the Process panel: roles ready or why not, leases, informers, delivery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from kubevigil import __version__
from kubevigil.config.settings import WebSettings
from kubevigil.core.clock import Clock
from kubevigil.core.readiness import Readiness
from kubevigil.kube.client import KubeApi
from kubevigil.kube.informer import InformerCollector
from kubevigil.roles.role import PodIdentity, Role
from kubevigil.web import samples


@dataclass(frozen=True)
class Process:
    """The running process as the page sees it; `roles` and `readiness` are live views, read at each request."""

    cluster_name: str
    roles: Mapping[str, Role]
    readiness: Callable[[], Mapping[str, Readiness]]
    registry: CollectorRegistry
    clock: Clock
    api: KubeApi | None
    pod: PodIdentity
    settings: WebSettings
    started_at: float


def process_panel(process: Process) -> dict[str, Any]:
    """The Process panel: always has data (the process is there to say what it is doing)."""
    parts = process.readiness()
    return {
        "now": process.clock.now(),
        "version": __version__,
        "cluster": process.cluster_name,
        "pod": {"name": process.pod.name, "namespace": process.pod.namespace, "node": process.pod.node_name},
        "started_at": process.started_at,
        "ready": all(r.ok for r in parts.values()),
        "parts": [{"name": name, "ok": r.ok, "detail": r.detail} for name, r in parts.items()],
        "leases": samples.leases(process.registry),
        "informers": [{"name": i.name, "synced": i.synced.is_set(), "objects": len(i.cache),
                       "stale_seconds": round(i.stale_for(), 1), "failing": i.failing, "last_error": i.last_error}
                      for i in InformerCollector.on(process.registry).informers()],
        "delivery": samples.delivery(process.registry),
    }
