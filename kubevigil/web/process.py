"""What the page reads of the process, and the Process panel: roles ready or why not, the lease, informers, delivery."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry

from kubevigil.config.settings import WebSettings
from kubevigil.core.clock import Clock
from kubevigil.core.readiness import Readiness
from kubevigil.kube.client import KubeApi
from kubevigil.roles.role import PodIdentity, Role
from kubevigil.web import samples


@dataclass(frozen=True)
class Process:
    """The running process as the page sees it; `roles`, `readiness`, `describe` and `standby` are live views, read
    at each request (`describe` is what /api/process answers)."""

    cluster_name: str
    roles: Mapping[str, Role]
    readiness: Callable[[], Mapping[str, Readiness]]
    describe: Callable[[], Mapping[str, Any]]
    standby: Callable[[str], bool]  # the role waits for the lease: its state here is not live
    registry: CollectorRegistry
    clock: Clock
    api: KubeApi | None
    pod: PodIdentity
    settings: WebSettings
    started_at: float


def process_panel(process: Process) -> dict[str, Any]:
    """The Process panel: /api/process with readiness, uptime and delivery; always has data (the process is there
    to say what it is doing)."""
    parts = process.readiness()
    described = process.describe()
    return {
        **described,
        "now": process.clock.now(),
        "cluster": process.cluster_name,
        "pod": {"name": process.pod.name, "namespace": process.pod.namespace, "node": process.pod.node_name},
        "started_at": process.started_at,
        "ready": all(r.ok for r in parts.values()),
        "parts": [{"name": name, "ok": r.ok, "detail": r.detail} for name, r in parts.items()],
        "delivery": samples.delivery(process.registry),
    }
